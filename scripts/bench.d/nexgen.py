"""Synthetic Nexudus webhook bodies for the benchmarks, shaped like shared/nexudus/fixtures.

Bodies are Json.NET-style text built by hand (key order, `0.09000`-style decimals, raw UTF-8,
dates with 0-7 fractional digits and `Z`, `+hh:mm` or no suffix), so the bytes are exactly what
a receiver would get. Everything is deterministic for a given random.Random.
"""

import datetime
import hashlib
import hmac

TICKS = 10_000_000  # .NET ticks (100 ns) per second
EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
BASE_TICKS = 1_704_067_200 * TICKS  # 2024-01-01T00:00:00Z

FIRST = ["Ren", "José", "Amelia", "Jürgen", "Chloé", "Noah", "Priya", "Mateo", "Sofia", "Liam",
         "Zoë", "Oliver", "Hana", "Lucas", "Ana", "Ethan", "Björn", "Mia", "Kofi", "Élodie"]
LAST = ["Kowalski", "Müller", "Smith", "García", "Brown", "Nakamura", "Okafor", "Rossi",
        "Dubois", "Novák", "Jensen", "Silva", "O'Neill", "Patel", "Ivanova", "Lefèvre"]
COMPANIES = ["Acme Ltd", "Globex", "Initech", "Umbrella Studio", "Hooli", "Stark & Wayne LLP",
             "Café Numérique", "Vandelay Imports", "Pied Piper", "Nordisk Design AB"]
BUSINESSES = [(1376491116, "Central"), (1420976475, "Docklands"), (1421000017, "Riverside")]
TARIFFS = [(1400000000, "Hot desk"), (1400000001, "Dedicated desk"),
           (1400000002, "Private office 4p"), (1400000003, "Virtual office")]
RESOURCES = [(1414925000 + i, name) for i, name in enumerate([
    "Small meeting room (120)", "Boardroom", "Phone booth 1", "Phone booth 2", "Hot desk — Zone A",
    "Hot desk — Zone B", "Event space", "Podcast studio", "Focus room", "Training room"])]
CURRENCIES = ["GBP", "EUR", "USD"]


# ---------------------------------------------------------------- dates

_day_cache = {}


def _date_text(days):
    text = _day_cache.get(days)
    if text is None:
        text = datetime.date.fromordinal(days + EPOCH_ORDINAL).isoformat()
        _day_cache[days] = text
    return text


def _clock(ticks):
    seconds, fraction = divmod(ticks, TICKS)
    days, second_of_day = divmod(seconds, 86_400)
    hour, rest = divmod(second_of_day, 3600)
    minute, second = divmod(rest, 60)
    return f"{_date_text(days)}T{hour:02d}:{minute:02d}:{second:02d}", fraction


def canonical(ticks):
    """nexmirror's stored form: UTC, always 7 fractional digits."""
    if ticks is None:
        return None
    clock, fraction = _clock(ticks)
    return f"{clock}.{fraction:07d}Z"


# Json.NET forms: (suffix kind, offset minutes). Weights favour UTC like real accounts.
DATE_FORMS = (["Z"] * 6) + ["+01:00", "+02:00", "-05:00", ""] + ["Z"] * 2


def jsonnet(ticks, form="Z"):
    """A Json.NET ISO-8601 rendering of `ticks` (UTC) in `form`: 'Z', '±hh:mm' or '' (unspecified)."""
    if form in ("Z", ""):
        local = ticks
    else:
        sign = 1 if form[0] == "+" else -1
        local = ticks + sign * (int(form[1:3]) * 60 + int(form[4:6])) * 60 * TICKS
    clock, fraction = _clock(local)
    if fraction:
        clock += "." + f"{fraction:07d}".rstrip("0")
    return clock + form


def uuid(rnd):
    h = f"{rnd.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def amount(rnd, low, high, scale=2):
    cents = rnd.randint(low * 100, high * 100)
    text = f"{cents // 100}.{cents % 100:02d}"
    return text + "0" * (scale - 2)


def js(text):
    """A JSON string literal as Json.NET writes it (non-ASCII raw)."""
    if text is None:
        return "null"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def b(flag):
    return "true" if flag else "false"


def d(ticks, form):
    return "null" if ticks is None else '"' + jsonnet(ticks, form) + '"'


# ---------------------------------------------------------------- signatures

def ascii_fold(text):
    """.NET ASCIIEncoding: every UTF-16 code unit >= 0x80 becomes '?'."""
    out = []
    for ch in text:
        code = ord(ch)
        if code < 0x80:
            out.append(ch)
        else:
            out.append("??" if code > 0xFFFF else "?")
    return "".join(out).encode("ascii")


def sign(secret, body_text):
    key = ascii_fold(secret)
    msg = body_text.encode("ascii") if body_text.isascii() else ascii_fold(body_text)
    return hmac.new(key, msg, hashlib.sha256).hexdigest().upper()


# ---------------------------------------------------------------- DTO bodies
#
# Each builder returns the body text `[{...}]`. Arguments: e = dict with the entity's stable
# facts (id, uid, created ticks, ...), u = UpdatedOn ticks (or None), f = date form, rnd.

def _tail(e, u, f, to_string):
    return (f'"Id":{e["id"]},"UniqueId":"{e["uid"]}","CreatedOn":{d(e["created"], f)},'
            f'"UpdatedOn":{d(u, f)},"UpdatedBy":"admin@space.example","IsNew":false,"SystemId":null,'
            f'"ToStringText":{js(to_string)},"LocalizationDetails":null,"CustomFields":null')


def person(rnd):
    return f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"


def coworker(e, u, f, rnd):
    name = e["name"]
    biz, biz_name = e["biz"]
    tariff, tariff_name = rnd.choice(TARIFFS)
    company = e["company"]
    customs = ",".join(f'"Custom{i}":null' for i in range(1, 13))
    return ("[{" f'"CoworkerType":{e["ctype"]},"FullName":{js(name)},"Email":"m{e["id"]}@example.org",'
            f'"CompanyName":{js(company)},"Businesses":[{biz}],"Teams":[],"InvoicingBusinessId":{biz},'
            f'"InvoicingBusinessName":{js(biz_name)},"MobilePhone":"+44 7700 {rnd.randint(100000, 999999)}",'
            f'"BillingEmail":"billing{e["id"]}@example.org","Address":"{rnd.randint(1, 300)} Harbour Street",'
            f'"PostCode":"E14 {rnd.randint(1, 9)}AB","CityName":"London","CountryId":1220,'
            f'"Active":{b(rnd.random() < 0.85)},"Archived":{b(rnd.random() < 0.05)},'
            f'"RegistrationDate":{d(e["created"], f)},"TariffId":{tariff},"TariffName":{js(tariff_name)},'
            f'"TeamNames":null,"Gender":{rnd.randint(0, 2)},"ProfileIsPublic":{b(rnd.random() < 0.5)},'
            f'"AllowNetworkCheckin":true,{customs},' + _tail(e, u, f, name) + "}]")


def booking(e, u, f, rnd):
    start = e["from"]
    res, res_name = e["resource"]
    notes = rnd.choice([None, "Projector please", "Client meeting — 6 people", "Recurring stand-up"])
    return ("[{" f'"ResourceId":{res},"ResourceName":{js(res_name)},"ResourceResourceTypeId":1414984685,'
            f'"FloorPlanDeskId":null,"CoworkerId":{e["coworker"]},"CoworkerCoworkerType":"Individual",'
            f'"CoworkerFullName":{js(e["name"])},"FromTime":{d(start, f)},'
            f'"ToTime":{d(start + e["minutes"] * 60 * TICKS, f)},"Notes":{js(notes)},'
            f'"Tentative":{b(rnd.random() < 0.1)},"Online":{b(rnd.random() < 0.7)},"Repeats":{rnd.randint(1, 9)},'
            f'"WhichBookingsToUpdate":1,"Invoiced":{b(rnd.random() < 0.3)},"CoworkerInvoiceId":null,'
            f'"MinutesToStart":{rnd.randint(0, 20000)},"BookingVisitors":[],"AvailableCredit":{amount(rnd, 0, 50)},'
            f'"ChargeNow":false,"InvoiceNow":false,"DoNotUseBookingCredit":false,"SkipConfirmationEmail":false,'
            f'"IncludeZoomInvite":false,"PurchaseOrder":null,"InternalNotes":null,"IsEvent":false,"IsTour":false,'
            + _tail(e, u, f, res_name) + "}]")


def invoice(e, u, f, rnd, action):
    biz, biz_name = e["biz"]
    total = e["total"]
    paid = action in ("CoworkerInvoicePaid", "CoworkerInvoiceReceivedPayment", "CoworkerInvoiceRefund")
    refunded = action == "CoworkerInvoiceRefund"
    credit = action == "CoworkerInvoiceCreditNote"
    draft = action == "CoworkerInvoiceCreateFirst" and rnd.random() < 0.5
    return ("[{" f'"CoworkerId":{e["coworker"]},"CoworkerFullName":{js(e["name"])},"BusinessId":{biz},'
            f'"BusinessName":{js(biz_name)},"InvoiceNumber":"C29-INV-{e["number"]}",'
            f'"DueDate":{d(e["created"] + 10 * 86400 * TICKS, f)},"InvoiceFromDate":{d(e["created"], f)},'
            f'"InvoiceToDate":{d(e["created"] + 30 * 86400 * TICKS, f)},"TotalAmount":{total},'
            f'"PaidAmount":{total if paid else "0.00"},"TaxAmount":{amount(rnd, 0, 300)},"DiscountAmount":0.0,'
            f'"CurrencyId":1,"CurrencyCode":"{e["currency"]}","Draft":{b(draft)},"Void":false,"Paid":{b(paid)},'
            f'"PaidOn":{d(u, f) if paid and u is not None else "null"},"Sent":{b(not draft)},'
            f'"Refunded":{b(refunded)},"RefundedOn":{d(u, f) if refunded and u is not None else "null"},'
            f'"CreditNote":{b(credit)},"PaymentReference":null,"PurchaseOrder":null,"Notes":null,'
            f'"InvoiceFromAddress":"1 Harbour Street, London","BillToAddress":"{rnd.randint(1, 300)} Market Road",'
            + _tail(e, u, f, "C29-INV-" + e["number"]) + "}]")


def team(e, u, f, rnd):
    biz, biz_name = e["biz"]
    members = ",".join(str(m) for m in e["members"])
    return ("[{" f'"BusinessId":{biz},"BusinessName":{js(biz_name)},"Name":{js(e["tname"])},'
            f'"Description":{js(rnd.choice([None, "Product team", "Founders"]))},"TeamMembers":[{members}],'
            f'"TeamAdministrators":[{e["members"][0]}],"PayingMemberId":{e["members"][0]},'
            f'"PayingMemberFullName":{js(e["name"])},"MaxTeamMemberCount":null,'
            f'"CreateSingleInvoiceForTeam":{b(rnd.random() < 0.5)},"DefaultMemberTariffId":null,'
            f'"TeamLogoUrl":null,"WebAddress":null,"ShowInDirectory":true,'
            + _tail(e, u, f, e["tname"]) + "}]")


def checkin(e, u, f, rnd, closed):
    biz, biz_name = e["biz"]
    to_time = d(e["from"] + rnd.randint(10, 600) * 60 * TICKS, f) if closed else "null"
    return ("[{" f'"CoworkerId":{e["coworker"]},"CoworkerFullName":{js(e["name"])},"BusinessId":{biz},'
            f'"BusinessName":{js(biz_name)},"Source":{rnd.randint(0, 5)},"FromTime":{d(e["from"], f)},'
            f'"ToTime":{to_time},"CountsTowardsPlanLimits":{b(rnd.random() < 0.8)},'
            f'"AutoCheckout":{b(rnd.random() < 0.2)},"DeviceName":null,"IpAddress":"10.0.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}",'
            f'"MacAddress":null,"Notes":null,'
            + _tail(e, u, f, e["name"]) + "}]")


def proposal(e, u, f, rnd):
    biz, biz_name = e["biz"]
    tariff, tariff_name = e["tariff"]
    return ("[{" f'"IssuedById":{biz},"IssuedByName":{js(biz_name)},"CoworkerId":{e["coworker"]},'
            f'"CoworkerFullName":{js(e["name"])},"Reference":"PR-{e["id"] % 100000}","Notes":null,'
            f'"ProposalStatus":{rnd.randint(1, 4)},"TariffId":{tariff},"TariffName":{js(tariff_name)},'
            f'"TariffPrice":1200.00,"Price":{amount(rnd, 100, 5000)},"StartDate":{d(e["created"] + 14 * 86400 * TICKS, f)},'
            f'"ContractTerm":{rnd.choice([1, 3, 6, 12])},"ExpirationDate":{d(e["created"] + 30 * 86400 * TICKS, f)},'
            f'"Quantity":{rnd.randint(1, 4)},"ProposalLines":[],"AcceptedOn":null,"RejectedOn":null,'
            + _tail(e, u, f, "Proposal") + "}]")


def contract(e, u, f, rnd, action):
    biz, biz_name = e["biz"]
    tariff, tariff_name = e["tariff"]
    cancelled = action == "CoworkerContractCancel"
    return ("[{" f'"IssuedById":{biz},"IssuedByName":{js(biz_name)},"CoworkerId":{e["coworker"]},'
            f'"CoworkerFullName":{js(e["name"])},"TariffId":{tariff},"TariffName":{js(tariff_name)},'
            f'"Price":{amount(rnd, 100, 3000)},"TariffCurrencyCode":"GBP","StartDate":{d(e["created"], f)},'
            f'"RenewalDate":{d(e["created"] + 30 * 86400 * TICKS, f)},'
            f'"CancellationDate":{d(u, f) if cancelled and u is not None else "null"},'
            f'"ContractTerm":{rnd.choice([1, 3, 12])},"Quantity":1,"Active":{b(not cancelled)},"MainContract":true,'
            f'"Cancelled":{b(cancelled)},"PricePerCycle":null,"InvoicedPeriod":null,"Notes":null,'
            f'"FloorPlanDeskIds":null,"FloorPlanDeskNames":null,'
            + _tail(e, u, f, "Contract") + "}]")


def tariff(e, u, f, rnd):
    return ("[{" f'"BusinessId":{e["biz"][0]},"Name":{js(e["tname"])},"Description":"Access plan",'
            f'"Price":{amount(rnd, 50, 2500, 5)},"CurrencyId":1,"CurrencyCode":"GBP","InvoiceEvery":1,'
            f'"InvoiceEveryUnit":2,"Visible":{b(rnd.random() < 0.8)},"Archived":false,"CancelationLimitDays":30,'
            f'"BookingCreditDefaultAmount":{amount(rnd, 0, 100)},"TimeCreditDefaultAmount":null,'
            f'"DisplayOrder":{rnd.randint(0, 20)},"Notes":null,"TermsAndConditions":null,'
            + _tail(e, u, f, e["tname"]) + "}]")


def calendar_event(e, u, f, rnd):
    start = e["from"]
    name = e["tname"]
    return ("[{" f'"BusinessId":{e["biz"][0]},"Name":{js(name)},"StartDate":{d(start, f)},'
            f'"EndDate":{d(start + 2 * 3600 * TICKS, f)},"Location":"Café","LongDescription":"Monthly community'
            f' event: talks, food and drinks.","ShortDescription":"Community","Tickets":{rnd.randint(0, 80)},'
            f'"AllowBooking":true,"PublishDate":null,"Public":{b(rnd.random() < 0.7)},'
            + _tail(e, u, f, name) + "}]")


def product(e, u, f, rnd):
    return ("[{" f'"BusinessId":{e["biz"][0]},"Name":{js(e["tname"])},"Description":null,'
            f'"Price":{amount(rnd, 1, 200, 5)},"CurrencyId":1,"Visible":true,"Archived":false,'
            f'"StockLevel":{rnd.randint(0, 500)},"Tags":null,"TaxRateId":null,"ReportingGroup":"Food",'
            f'"OnlyForContacts":false,"OnlyForMembers":false,'
            + _tail(e, u, f, e["tname"]) + "}]")


def welcome_email(e, u, f, rnd):
    """An action of uncertain DTO type: lands in `entities` keyed by the action name."""
    return ("[{" f'"CoworkerId":{e["coworker"]},"FullName":{js(e["name"])},"Email":"m{e["coworker"]}@example.org",'
            f'"Template":"welcome","Sent":true,' + _tail(e, u, f, e["name"]) + "}]")


ACTION_IDS = {
    "CoworkerUpdate": 2, "CoworkerCreate": 3, "BookingCreate": 6, "BookingUpdate": 7, "BookingDelete": 8,
    "SendWelcomeEmail": 9, "CoworkerContractActivate": 10, "CoworkerContractCancel": 11,
    "CoworkerContractRenew": 12, "CoworkerInvoiceCreateFirst": 15, "CoworkerInvoiceCreate": 16,
    "CoworkerInvoiceDelete": 17, "CoworkerInvoiceUpdate": 18, "CoworkerInvoiceRefund": 19,
    "CoworkerInvoiceCreditNote": 20, "CoworkerInvoicePaid": 21, "CoworkerInvoiceFailedPayment": 22,
    "CoworkerInvoiceReceivedPayment": 23, "CoworkerInvoiceAwaitingPayment": 24, "CalendarEventCreate": 25,
    "CalendarEventUpdate": 26, "CalendarEventDelete": 44, "CheckinCreated": 47, "CheckinUpdated": 48,
    "CheckinDeleted": 49, "CoworkerDelete": 50, "ProposalCreated": 54, "ProposalUpdated": 55,
    "ProposalDeleted": 56, "TeamCreated": 57, "TeamUpdated": 58, "TeamDeleted": 59,
    "CoworkerContractUpdate": 60, "CoworkerContractCreate": 62, "TariffCreate": 74, "TariffDelete": 75,
    "TariffUpdate": 76, "CoworkerContractDelete": 77, "ProductCreate": 81, "ProductDelete": 82,
    "ProductUpdate": 83,
}
