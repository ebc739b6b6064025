#!/usr/bin/env python3
"""Pre-generates signed, unique webhook deliveries for wrk (whose Lua has no HMAC).

Writes into DIR:
  templates.lua     body templates per action: literal pieces and which variable goes between
  bodies.T.tsv      for wrk thread T: one delivery per line, `template \t signature \t Id \t
                    UniqueId \t UpdatedOn`; the body is the template with the three values put in
Every line across all files has its own Id, so no two requests are duplicates; a fresh database
per run makes the same files reusable for every run. Some templates hold non-ASCII names, so
their signature is the one Nexudus sends (over the ASCII-folded body).

usage: gen_ingest.py DIR --secret S --per-thread N --threads T
"""

import argparse
import os
import random
import sys

import time

sys.dont_write_bytecode = True  # keep the repo free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nexgen as g  # noqa: E402

ID, UID, UPDATED = "\x00I", "\x00U", "\x00T"
MARKER_TICKS = 4_102_444_800 * g.TICKS + 1_234_567  # 2100-01-01T00:00:00.1234567Z, never a real value


def templates(rnd):
    """(action, template text with markers) pairs, bodies of 1.0-1.4 KB."""
    def entity(**extra):
        e = {"id": ID, "uid": UID, "created": g.BASE_TICKS + 123_456_789, "biz": g.BUSINESSES[1],
             "coworker": 1_419_000_582, "name": "Ren Kowalski", "ctype": 1, "company": "Acme Ltd"}
        e.update(extra)
        return e

    u = MARKER_TICKS
    made = [
        ("CoworkerCreate", g.coworker(entity(name="José Müller"), u, "Z", rnd)),
        ("CoworkerUpdate", g.coworker(entity(), u, "Z", rnd)),
        ("BookingCreate", g.booking(entity(resource=g.RESOURCES[0], **{"from": g.BASE_TICKS, "minutes": 90}), u, "Z", rnd)),
        ("BookingUpdate", g.booking(entity(resource=g.RESOURCES[4], **{"from": g.BASE_TICKS, "minutes": 60}), u, "Z", rnd)),
        ("CoworkerInvoiceCreate", g.invoice(entity(total="1608.54", number="44866", currency="GBP"), u, "Z", rnd,
                                            "CoworkerInvoiceCreate")),
        ("CoworkerInvoicePaid", g.invoice(entity(total="99.00", number="44867", currency="EUR"), u, "Z", rnd,
                                          "CoworkerInvoicePaid")),
        ("CheckinCreated", g.checkin(entity(**{"from": g.BASE_TICKS}), u, "Z", rnd, False)),
        ("CoworkerContractCreate", g.contract(entity(tariff=g.TARIFFS[1], name="Chloé Dubois"), u, "Z", rnd,
                                              "CoworkerContractCreate")),
    ]
    marker_text = '"' + g.jsonnet(u, "Z") + '"'
    # Accounts with custom fields send them on every DTO: brings bodies to 1.0-1.5 KB.
    custom = ('"CustomFields":{"Data":[{"Name":"How did you hear about us","Value":"Google"},'
              '{"Name":"Dietary requirements","Value":null},{"Name":"Parking space","Value":"P-17"},'
              '{"Name":"Access card","Value":"0004417213"},{"Name":"Marketing consent","Value":"true"}]}')
    return [(action, text.replace(marker_text, '"' + UPDATED + '"').replace('"CustomFields":null', custom))
            for action, text in made]


def split(template):
    """Literal pieces and the variable (1 Id, 2 UniqueId, 3 UpdatedOn) after each but the last."""
    pieces, order, rest = [], [], template
    while True:
        positions = [(rest.find(m), i) for i, m in enumerate((ID, UID, UPDATED), start=1) if rest.find(m) >= 0]
        if not positions:
            pieces.append(rest)
            return pieces, order
        at, var = min(positions)
        pieces.append(rest[:at])
        order.append(var)
        rest = rest[at + 2:]


def lua_string(text):
    out = ['"']
    for byte in text.encode("utf-8"):
        if byte in (0x22, 0x5C) or byte < 0x20 or byte >= 0x7F:
            out.append(f"\\{byte:03d}")
        else:
            out.append(chr(byte))
    out.append('"')
    return "".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--per-thread", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.time()
    rnd = random.Random(args.seed)
    made = templates(rnd)
    os.makedirs(args.dir, exist_ok=True)
    with open(os.path.join(args.dir, "templates.lua"), "w") as lua:
        lua.write("return {\n")
        for action, text in made:
            pieces, order = split(text)
            lua.write(f'  {{ path = "/webhooks/{action}", vars = {{{", ".join(map(str, order))}}},\n'
                      f'    lits = {{{", ".join(lua_string(p) for p in pieces)}}} }},\n')
        lua.write("}\n")

    sizes = []
    next_id = 1_500_000_000
    clock = g.BASE_TICKS
    for thread in range(1, args.threads + 1):
        with open(os.path.join(args.dir, f"bodies.{thread}.tsv"), "w", encoding="ascii") as out:
            lines = []
            for n in range(args.per_thread):
                k = rnd.randrange(len(made))
                action, text = made[k]
                next_id += 1
                clock += rnd.randint(1, 20 * g.TICKS)
                uid = g.uuid(rnd)
                updated = g.jsonnet(clock, rnd.choice(g.DATE_FORMS))
                body = text.replace(ID, str(next_id)).replace(UID, uid).replace(UPDATED, updated)
                if n < 200:
                    sizes.append(len(body.encode("utf-8")))
                lines.append(f"{k + 1}\t{g.sign(args.secret, body)}\t{next_id}\t{uid}\t{updated}\n")
                if len(lines) >= 10_000:
                    out.writelines(lines)
                    lines = []
            out.writelines(lines)
    print(f"generated {args.threads} x {args.per_thread} signed deliveries ({len(made)} actions, bodies "
          f"{min(sizes)}-{max(sizes)} B) in {time.time() - started:.1f} s")


if __name__ == "__main__":
    main()
