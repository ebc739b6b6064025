import Foundation
import NexMirrorTestSupport
import NexudusFixtures
import Testing

/// `query`, `export`, `events`, `status` and `import`, through the real binary, on databases
/// built from the shared fixtures.
@Suite struct CLITests {
    // MARK: import

    @Test func importBuildsTheReplicaFromTheFixtures() async throws {
        let mirror = try await Mirror.fromFixtures()
        #expect(mirror.imported.status == 0, "\(mirror.imported.stderr)")
        #expect(mirror.imported.output.contains("fixtures.jsonl: 32 appended (0 quarantined), 0 duplicates, 0 skipped"))
        #expect(mirror.imported.output.contains("folded 32 deliveries"))
        #expect(try await mirror.counts() == ["events": 32, "coworkers": 2, "bookings": 2, "invoices": 6, "members": 2])
    }

    @Test func importingTheSameFileTwiceAppendsOnlyDuplicates() async throws {
        let mirror = try await Mirror.fromFixtures()
        let before = try await mirror.counts()
        let again = try await mirror.run(["import", mirror.scratch.path("fixtures.jsonl")])
        #expect(again.status == 0)
        #expect(again.output.contains("0 appended (0 quarantined), 32 duplicates, 0 skipped"))
        #expect(try await mirror.counts() == before)
        let status = try await mirror.run(["status", "--format", "json"])
        let log = try #require((try JSONSerialization.jsonObject(with: status.stdout) as? [String: Any])?["log"] as? [String: Any])
        #expect(log["deliveries"] as? Int == 32)
    }

    @Test func importKeepsTheExactBytesOfArrayAndObjectBodies() async throws {
        let mirror = try await Mirror.fromFixtures()
        let dto = #"{"Id": 77, "Name": "Zoë",   "UpdatedOn": "2026-03-01T10:00:00+01:00"}"#
        let lines = [
            #"{"action": "TariffCreate", "body": [ \#(dto) ]}"#,
            #"{"body": \#(dto), "action": "tariffupdate"}"#,
        ]
        try mirror.write("bodies.jsonl", lines.joined(separator: "\r\n"))
        let result = try await mirror.run(["import", mirror.scratch.path("bodies.jsonl")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.contains("2 appended (0 quarantined)"))
        #expect(try await mirror.run(["events", "show", "33"]).stdout == Data("[ \(dto) ]".utf8))
        #expect(try await mirror.run(["events", "show", "34"]).stdout == Data("[\(dto)]".utf8))
    }

    @Test func importWithAnActionTakesEachArrayElementAsOneDelivery() async throws {
        let mirror = try await Mirror.fromFixtures()
        let first = #"{"Id":5,"Name":"Hot desk","UpdatedOn":"2026-03-01T00:00:00Z"}"#
        let second = #"{ "Id" : 6 , "Name" : "Office" }"#
        try mirror.write("tariffs.json", "[\(first),\n  \(second)]")
        try mirror.write("records.json", #"{"Records": [\#(first), \#(second), {"Id": 8}], "TotalItems": 3}"#)
        let result = try await mirror.run([
            "import", "--action", "TariffCreate", mirror.scratch.path("tariffs.json"), mirror.scratch.path("records.json"),
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.contains("tariffs.json: 2 appended"))
        #expect(result.output.contains("records.json: 1 appended (0 quarantined), 2 duplicates"))
        #expect(try await mirror.run(["events", "show", "34"]).stdout == Data("[\(second)]".utf8))
        let entities = try await mirror.csv("SELECT id, action FROM entities WHERE entity_type = 'Tariff' ORDER BY id")
        #expect(entities == [["id", "action"], ["5", "TariffCreate"], ["6", "TariffCreate"], ["8", "TariffCreate"]])
    }

    @Test func importSkipsBadLinesNamingFileAndLineAndKeepsTheRest() async throws {
        let mirror = try await Mirror.fromFixtures()
        try mirror.write("mixed.jsonl", """
            {"action": "TariffCreate", "body": [{"Id": 1}]}

            not json
            {"action": "Nope", "body": "[]"}
            {"action": "TariffCreate"}
            {"action": "TariffCreate", "body": 5}
            {"action": "CoworkerCreate", "body": "not a body"}
            {"action": "TariffCreate", "body": [{"Id": 2}]}
            """)
        let result = try await mirror.run(["import", mirror.scratch.path("mixed.jsonl")])
        #expect(result.status == 1)
        #expect(result.output.contains("mixed.jsonl: 3 appended (1 quarantined), 0 duplicates, 4 skipped"))
        let errors = result.stderr.split(separator: "\n").map(String.init)
        #expect(errors.contains { $0.hasSuffix("mixed.jsonl:3: invalid JSON at byte 0: invalid literal") })
        #expect(errors.contains { $0.hasSuffix("mixed.jsonl:4: unknown action 'Nope'") })
        #expect(errors.contains { $0.hasSuffix("mixed.jsonl:5: missing \"body\"") })
        #expect(errors.contains { $0.hasPrefix("\(mirror.scratch.path("mixed.jsonl")):6: ") })
        #expect(errors.last == "Error: 4 bad entries were skipped (see above); the rest was imported")
        #expect(try await mirror.csv("SELECT count(*) FROM events") == [["count(*)"], ["35"]])
    }

    // MARK: query

    static let formatQuery = """
        SELECT 1 AS n, 1608.54 AS amount, 'a,b "c"' AS quoted, 'two' || char(10) || 'lines' AS multi,
               'tab' || char(9) || 'bed' AS tabbed, NULL AS absent, 'José Brown 😀' AS name, 'x|y' AS piped
        UNION ALL
        SELECT -7, 0.5, 'plain', 'one', 'no', NULL, 'Zoë', 'z'
        """
    static let formatColumns = ["n", "amount", "quoted", "multi", "tabbed", "absent", "name", "piped"]
    static let formatRows: [[String?]] = [
        ["1", "1608.54", "a,b \"c\"", "two\nlines", "tab\tbed", nil, "José Brown 😀", "x|y"],
        ["-7", "0.5", "plain", "one", "no", nil, "Zoë", "z"],
    ]

    @Test func queryCSVIsRFC4180AndTheDefaultWhenPiped() async throws {
        let mirror = try await Mirror.fromFixtures()
        let explicit = try await mirror.run(["query", "--format", "csv", Self.formatQuery])
        let piped = try await mirror.run(["query", Self.formatQuery])
        #expect(explicit.status == 0, "\(explicit.stderr)")
        #expect(piped.stdout == explicit.stdout)
        #expect(explicit.output.hasSuffix("\r\n"))
        #expect(explicit.output.contains("\"a,b \"\"c\"\"\""))
        let parsed = CSV.parse(explicit.output)
        #expect(parsed == [Self.formatColumns] + Self.formatRows.map { $0.map { $0 ?? "" } })
    }

    @Test func queryCSVWritesExtremeIntegersRealsAndBlobs() async throws {
        let mirror = try await Mirror.fromFixtures()
        let result = try await mirror.run([
            "query", "--format", "csv",
            "SELECT -9223372036854775808 AS min, 9223372036854775807 AS max, 0.1 + 0.2 AS sum, x'414243' AS utf8, x'00ff' AS bytes",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output == "min,max,sum,utf8,bytes\r\n-9223372036854775808,9223372036854775807,0.30000000000000004,ABC,\\x00ff\r\n")
    }

    @Test func queryTSVEscapesTabsAndNewlines() async throws {
        let mirror = try await Mirror.fromFixtures()
        let result = try await mirror.run(["query", "--format", "tsv", Self.formatQuery])
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 3)
        let rows = lines.map { line in
            line.split(separator: "\t", omittingEmptySubsequences: false).map { field in
                String(field).replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\t", with: "\t")
            }
        }
        #expect(rows == [Self.formatColumns] + Self.formatRows.map { $0.map { $0 ?? "" } })
    }

    @Test func queryJSONKeepsNumbersAndNulls() async throws {
        let mirror = try await Mirror.fromFixtures()
        let json = try await mirror.run(["query", "--format", "json", Self.formatQuery])
        let array = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [[String: Any]])
        #expect(array.count == 2)
        #expect(array[0]["n"] as? Int == 1)
        #expect(array[0]["amount"] as? Double == 1608.54)
        #expect(json.output.contains("\"amount\":1608.54,"))
        #expect(array[0]["absent"] is NSNull)
        #expect(array[0]["multi"] as? String == "two\nlines")
        #expect(array[1]["name"] as? String == "Zoë")
        #expect(array[1]["n"] as? Int == -7)

        let jsonl = try await mirror.run(["query", "--format", "jsonl", Self.formatQuery])
        let lines = jsonl.output.split(separator: "\n")
        #expect(lines.count == 2)
        for (index, line) in lines.enumerated() {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
            #expect(
                try JSONSerialization.data(withJSONObject: object, options: .sortedKeys)
                    == JSONSerialization.data(withJSONObject: array[index], options: .sortedKeys))
        }
        #expect(String(lines[0]).hasPrefix("{\"n\":1,\"amount\":1608.54,\"quoted\":"))

        let empty = try await mirror.run(["query", "--format", "json", "SELECT id FROM coworkers WHERE id < 0"])
        #expect(empty.output == "[]\n")
    }

    @Test func queryMarkdownAndTableShowEveryValue() async throws {
        let mirror = try await Mirror.fromFixtures()
        let markdown = try await mirror.run(["query", "--format", "markdown", Self.formatQuery]).output
        let markdownRows = markdown.split(separator: "\n").map { line in
            line.dropFirst(2).dropLast(2).components(separatedBy: " | ")
                .map { $0.replacingOccurrences(of: "\\|", with: "|").replacingOccurrences(of: "<br>", with: "\n") }
        }
        try #require(markdownRows.count == 4)
        #expect(markdownRows[0] == Self.formatColumns)
        #expect(markdownRows[1].allSatisfy { $0 == "---" })
        #expect(Array(markdownRows[2...]) == Self.formatRows.map { $0.map { $0 ?? "" } })

        let table = try await mirror.run([
            "query", "--format", "table", "SELECT id, full_name, business_id FROM coworkers ORDER BY id",
        ]).output
        let lines = table.split(separator: "\n").map(String.init)
        try #require(lines.count == 4)
        let cells = lines.map { $0.split(separator: "  ", omittingEmptySubsequences: true).map { $0.trimmingCharacters(in: .whitespaces) } }
        #expect(cells[0] == ["id", "full_name", "business_id"])
        #expect(cells[1].allSatisfy { $0.allSatisfy { $0 == "-" } })
        #expect(cells[2] == ["1419009389", "José Müller", "1376491116"])
        #expect(cells[3] == ["1419039121", "José Brown 😀", "1420976475"])
    }

    @Test func queryBindsNamedParametersTypedByTheirLook() async throws {
        let mirror = try await Mirror.fromFixtures()
        let invoices = try await mirror.csv(
            "SELECT invoice_number, total_amount FROM invoices WHERE total_amount >= :min AND currency_code = @currency "
                + "AND business_id = $business ORDER BY invoice_number",
            parameters: ["min=2500", "currency=GBP", "business=1376491116"])
        #expect(invoices == [
            ["invoice_number", "total_amount"], ["C29-INV-2026.03-29257", "2686.74"],
            ["C29-INV-2026.03-39552", "2516.14"], ["C29-INV-2026.03-89329", "2629.83"],
        ])
        let types = try await mirror.csv(
            "SELECT typeof(:i), typeof(:d), typeof(:zero), typeof(:e), typeof(:t), :d + 0, :i + 1",
            parameters: ["i=-42", "d=1608.54", "zero=007", "e=1e5", "t=José"])
        #expect(types[1] == ["integer", "real", "text", "text", "text", "1608.54", "-41"])

        let missing = try await mirror.run(["query", "--param", "mn=1", "SELECT :min"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "Error: the query uses :min but no --param min=VALUE was given\n")
        let unused = try await mirror.run(["query", "--param", "min=1", "SELECT 1"])
        #expect(unused.status == 1)
        #expect(unused.stderr.contains("--param min is not used"))
        let positional = try await mirror.run(["query", "SELECT ?"])
        #expect(positional.status == 1)
        #expect(positional.stderr.contains("positional parameter"))
    }

    @Test func queryRefusesEveryWriteWithOneLine() async throws {
        let mirror = try await Mirror.fromFixtures()
        let before = try await mirror.counts()
        let writes = [
            "DELETE FROM events", "UPDATE coworkers SET email = 'x'", "INSERT INTO tombstones VALUES ('X', 1, NULL, 1)",
            "REPLACE INTO projections (name, version) VALUES ('x', 1)", "DROP TABLE coworkers", "CREATE TABLE t (x)",
            "CREATE TEMP TABLE t (x)", "CREATE INDEX i ON events (action)", "ALTER TABLE coworkers ADD COLUMN z",
            "ATTACH '\(mirror.scratch.path("other.sqlite"))' AS other", "ATTACH ':memory:' AS m", "DETACH main",
            "PRAGMA user_version = 1", "PRAGMA journal_mode = DELETE", "PRAGMA query_only = 0", "VACUUM",
            "VACUUM INTO '\(mirror.scratch.path("copy.sqlite"))'", "REINDEX", "ANALYZE", "BEGIN IMMEDIATE", "COMMIT",
            "WITH doomed AS (SELECT seq FROM events) DELETE FROM events WHERE seq IN doomed",
            "SELECT 1; DELETE FROM events", "/* sneaky */ -- comment\n delete from events",
        ]
        for sql in writes {
            let result = try await mirror.run(["query", sql])
            #expect(result.status == 1, "\(sql)")
            #expect(result.stderr.hasPrefix("Error: refused: "), "\(sql): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(sql)")
            #expect(result.stdout.isEmpty, "\(sql)")
        }
        #expect(try await mirror.counts() == before)
        #expect(!FileManager.default.fileExists(atPath: mirror.scratch.path("other.sqlite")))
        #expect(!FileManager.default.fileExists(atPath: mirror.scratch.path("copy.sqlite")))
        #expect(try await mirror.csv("PRAGMA user_version") == [["user_version"], ["0"]])
    }

    @Test func querySQLErrorsAndScriptsAreOneLine() async throws {
        let mirror = try await Mirror.fromFixtures()
        for (sql, message) in [
            ("SELEC 1", "Error: SQL error: near \"SELEC\": syntax error"),
            ("SELECT *\nFROM nowhere", "Error: SQL error: no such table: nowhere"),
            ("SELECT 1; SELECT 2", "Error: query runs one statement at a time; this SQL holds 2 (run each separately)"),
            ("  -- nothing\n", "Error: no SQL statement given"),
        ] {
            let result = try await mirror.run(["query", sql])
            #expect(result.status == 1)
            #expect(result.stderr == message + "\n")
        }
        #expect(try await mirror.csv("SELECT 1 AS one;") == [["one"], ["1"]])
    }

    @Test func queryReadsTheStatementFromStandardInput() async throws {
        let mirror = try await Mirror.fromFixtures()
        let result = try await mirror.run(["query", "-"], stdin: Array("SELECT count(*) AS n FROM members\n".utf8))
        #expect(result.status == 0)
        #expect(result.output == "n\r\n2\r\n")
    }

    // MARK: export

    @Test func exportListsEachReportWithItsHeader() async throws {
        let mirror = try await Mirror.fromFixtures(skippingDeletes: true)
        let reports: [String: [String]] = [
            "members": ["id", "full_name", "email", "company_name", "coworker_type", "tariff_id", "tariff_name",
                        "business_id", "created_on", "updated_on"],
            "bookings": ["id", "resource_id", "resource_name", "coworker_id", "coworker_name", "from_time", "to_time",
                         "tentative", "online", "invoiced", "created_on", "updated_on"],
            "invoices": ["id", "invoice_number", "coworker_id", "coworker_name", "business_id", "currency_code",
                         "total_amount", "paid_amount", "status", "paid", "paid_on", "due_date", "created_on", "updated_on"],
            "checkins": ["id", "coworker_id", "coworker_name", "business_id", "from_time", "to_time", "source",
                         "created_on", "updated_on"],
            "teams": ["id", "name", "business_id", "paying_member_id", "members", "created_on", "updated_on"],
            "proposals": ["id", "reference", "coworker_id", "coworker_name", "issued_by_id", "status", "tariff_name",
                          "price", "start_date", "expiration_date", "created_on", "updated_on"],
            "contracts": ["id", "coworker_id", "coworker_name", "issued_by_id", "tariff_id", "tariff_name", "price",
                          "start_date", "renewal_date", "cancellation_date", "active", "cancelled", "created_on",
                          "updated_on"],
            "occupancy": ["date", "resource_id", "resource_name", "bookings", "hours"],
            "revenue": ["month", "currency_code", "invoices", "invoiced", "paid"],
        ]
        var rows: [String: [[String: String]]] = [:]
        for (report, header) in reports {
            let result = try await mirror.run(["export", report])
            #expect(result.status == 0, "\(report): \(result.stderr)")
            let parsed = CSV.parse(result.output)
            #expect(parsed.first == header, "\(report)")
            rows[report] = parsed.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
        }
        #expect(rows["members"]!.map { $0["full_name"] } == ["José Brown 😀", "José Müller", "Ren Kowalski"])
        #expect(rows["members"]![1]["coworker_type"] == "company")
        #expect(rows["members"]![1]["updated_on"] == "2026-03-02T08:04:09.3069020Z")
        #expect(rows["bookings"]!.map { $0["id"] } == ["1419005644", "1419013251"])
        #expect(rows["bookings"]![0]["from_time"] == "2026-04-14T15:30:00.0000000Z")
        #expect(rows["bookings"]![0]["coworker_name"] == "Ren Kowalski")
        let paid = try #require(rows["invoices"]!.first { $0["id"] == "1419044866" })
        #expect(paid["total_amount"] == "1608.54")
        #expect(paid["status"] == "paid")
        #expect(paid["paid_on"] == "2026-03-02T08:34:33.0543335Z")
        #expect(rows["invoices"]!.count == 7)
        #expect(rows["checkins"]!.map { $0["to_time"] } == ["2026-03-02T08:21:31.9197626Z"])
        #expect(rows["teams"]!.map { $0["members"] } == ["2"])
        #expect(rows["proposals"]!.map { $0["reference"] } == ["PR-4051", "PR-1247"])
        let contracts = Dictionary(uniqueKeysWithValues: rows["contracts"]!.map { ($0["id"]!, $0) })
        #expect(contracts["1419027272"]?["price"] == "1182.17")
        #expect(contracts["1419073816"]?["cancelled"] == "1")
        #expect(contracts["1419069022"]?["price"] == "1792.26")
    }

    @Test func occupancySplitsBookingsAtMidnightIntoHoursPerResourcePerDay() async throws {
        let mirror = try await Mirror.fromFixtures(skippingDeletes: true)
        // Beside the fixtures' BookingCreate (room 1414925000, 2026-04-14 15:30–17:00) and
        // BookingUpdate (1414925004, 2026-04-29 14:00–16:00): one night booking in the same room.
        try await mirror.importLines([
            #"{"action":"BookingCreate","body":{"Id":900001,"ResourceId":1414925000,"ResourceName":"Small meeting room (120)","CoworkerId":1419009389,"FromTime":"2026-04-14T22:00:00Z","ToTime":"2026-04-15T02:30:00+00:00","UpdatedOn":"2026-03-05T08:00:00Z"}}"#,
        ])
        let occupancy = CSV.parse(try await mirror.run(["export", "occupancy"]).output)
        let afternoon = 1.5  // 15:30–17:00
        let beforeMidnight = 2.0  // 22:00–24:00
        let afterMidnight = 2.5  // 00:00–02:30
        #expect(occupancy == [
            ["date", "resource_id", "resource_name", "bookings", "hours"],
            ["2026-04-14", "1414925000", "Small meeting room (120)", "2", String(format: "%.2f", afternoon + beforeMidnight)],
            ["2026-04-15", "1414925000", "Small meeting room (120)", "1", String(format: "%.2f", afterMidnight)],
            ["2026-04-29", "1414925004", "Event space", "1", "2.00"],
        ])
        // The range keeps only booked time inside it: 16:00–17:00 and 22:00–24:00 on the 14th.
        let clipped = CSV.parse(try await mirror.run([
            "export", "occupancy", "--from", "2026-04-14T16:00:00Z", "--to", "2026-04-14",
        ]).output)
        #expect(clipped.dropFirst() == [["2026-04-14", "1414925000", "Small meeting room (120)", "2", "3.00"]])
        // Only José Müller's bookings belong to business 1376491116 (Ren Kowalski is at 1420976475).
        let business = CSV.parse(try await mirror.run(["export", "occupancy", "--business", "1376491116"]).output)
        #expect(business.dropFirst().map { [$0[0], $0[4]] } == [["2026-04-14", "2.00"], ["2026-04-15", "2.50"], ["2026-04-29", "2.00"]])
    }

    @Test func revenueSumsInvoicedAndPaidPerMonthAndCurrencyWithoutVoidsOrCreditNotes() async throws {
        let mirror = try await Mirror.fromFixtures(skippingDeletes: true)
        try await mirror.importLines([
            Self.invoice(id: 900001, total: "999.99", paid: "0", created: "2026-03-20T10:00:00Z", flags: #""Void":true"#),
            Self.invoice(id: 900002, total: "-50.00", paid: "0", created: "2026-03-21T10:00:00Z", flags: #""CreditNote":true"#),
            Self.invoice(id: 900003, total: "0.10", paid: "0.10", created: "2026-04-01T00:00:00Z", currency: "EUR"),
            Self.invoice(id: 900004, total: "0.20", paid: "0.05", created: "2026-04-30T23:59:59Z", currency: "EUR"),
        ])
        // March (GBP), the seven fixture invoices still standing without the delete:
        let totals = [236.39, 2478.77, 2406.45, 2629.83, 2516.14, 2686.74, 1608.54]
        let paid = [1314.92, 2516.14, 1608.54]
        #expect(abs(totals.reduce(0, +) - 14562.86) < 0.001)
        #expect(abs(paid.reduce(0, +) - 5439.60) < 0.001)
        let revenue = CSV.parse(try await mirror.run(["export", "revenue"]).output)
        #expect(revenue == [
            ["month", "currency_code", "invoices", "invoiced", "paid"],
            ["2026-03", "GBP", "7", "14562.86", "5439.60"],
            ["2026-04", "EUR", "2", "0.30", "0.15"],
        ])
        let april = CSV.parse(try await mirror.run(["export", "revenue", "--from", "2026-04-01", "--to", "2026-04-30"]).output)
        #expect(april.dropFirst() == [["2026-04", "EUR", "2", "0.30", "0.15"]])
        let businesses = CSV.parse(try await mirror.run(["export", "revenue", "--business", "1420976475"]).output)
        #expect(businesses.dropFirst() == [["2026-03", "GBP", "3", "4251.38", "1608.54"]])
    }

    static func invoice(
        id: Int, total: String, paid: String, created: String, currency: String = "GBP", flags: String = #""Void":false"#
    ) -> String {
        #"{"action":"CoworkerInvoiceCreate","body":{"Id":\#(id),"CoworkerId":1419009389,"BusinessId":1376491116,"#
            + #""InvoiceNumber":"T-\#(id)","CurrencyCode":"\#(currency)","TotalAmount":\#(total),"PaidAmount":\#(paid),"#
            + #"\#(flags),"CreatedOn":"\#(created)","UpdatedOn":"\#(created)"}}"#
    }

    @Test func exportFiltersByDateColumnAndBusiness() async throws {
        let mirror = try await Mirror.fromFixtures(skippingDeletes: true)
        func ids(_ arguments: [String]) async throws -> [String] {
            let result = try await mirror.run(["export"] + arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            return CSV.parse(result.output).dropFirst().map { $0[0] }
        }
        // A bare --to date includes its whole day; a timestamp is exclusive.
        #expect(try await ids(["bookings", "--from", "2026-04-14", "--to", "2026-04-14"]) == ["1419005644"])
        #expect(try await ids(["bookings", "--to", "2026-04-14T15:30:00Z"]) == [])
        #expect(try await ids(["bookings", "--from", "2026-04-14T17:30:00+02:00"]) == ["1419005644", "1419013251"])
        #expect(try await ids(["bookings", "--from", "2026-04-14T15:30:00.0000001Z"]) == ["1419013251"])
        #expect(try await ids(["members", "--business", "1420976475"]) == ["1419039121", "1419000582"])
        #expect(try await ids(["bookings", "--business", "1376491116"]) == ["1419013251"])
        #expect(try await ids(["invoices", "--business", "1420976475"]) == ["1419023341", "1419044866", "1419063892"])
        #expect(try await ids(["contracts", "--business", "1"]) == [])
        #expect(try await ids(["members", "--from", "2026-03-02T08:05:00Z", "--to", "2026-03-02T08:14:00Z"]) == ["1419039121"])

        let unknown = try await mirror.run(["export", "tariffs"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.hasPrefix("Error: unknown report 'tariffs'; reports: members, bookings,"))
        #expect(unknown.stderr.split(separator: "\n").count == 1)

        let bad = try await mirror.run(["export", "bookings", "--from", "2026-02-30"])
        #expect(bad.status == 1)
        #expect(bad.stderr.split(separator: "\n").count == 1)
        #expect(bad.stderr.contains("--from expects a date"))
    }

    @Test func exportOutputIsWrittenAtomicallyWithAnOptionalBOM() async throws {
        let mirror = try await Mirror.fromFixtures()
        let file = mirror.scratch.path("reports/members.csv")
        try FileManager.default.createDirectory(
            atPath: mirror.scratch.path("reports"), withIntermediateDirectories: true)
        try Data("old content".utf8).write(to: URL(fileURLWithPath: file))
        let result = try await mirror.run(["export", "members", "--bom", "--output", file])
        #expect(result.status == 0)
        #expect(result.stdout.isEmpty)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        #expect(bytes.starts(with: [0xEF, 0xBB, 0xBF]))
        #expect(String(decoding: bytes.dropFirst(3), as: UTF8.self).hasPrefix("id,full_name,email,"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: mirror.scratch.path("reports")) == ["members.csv"])

        let failed = try await mirror.run(["export", "members", "--output", mirror.scratch.path("nowhere/members.csv")])
        #expect(failed.status == 1)
        #expect(failed.stderr.split(separator: "\n").count == 1)
    }

    // MARK: events

    @Test func eventsListsTheNewestDeliveriesOldestFirst() async throws {
        let mirror = try await Mirror.fromFixtures()
        let all = CSV.parse(try await mirror.run(["events"]).output)
        #expect(all[0] == [
            "seq", "received_at", "action", "entity_type", "entity_id", "updated_on", "status", "error", "source", "bytes",
        ])
        #expect(all.count == 33)
        let last = all.last!
        #expect(last[0] == "32" && last[2] == "CoworkerCreate" && last[4] == "1419039121" && last[6] == "ok")
        #expect(last[8] == "import" && last[9] == String(NexudusFixtures.body("emoji-name").count))

        #expect(CSV.parse(try await mirror.run(["events", "list", "--limit", "0"]).output).count == 33)
        let limited = CSV.parse(try await mirror.run(["events", "--limit", "3"]).output)
        #expect(limited.dropFirst().map { $0[0] } == ["30", "31", "32"])
        let invoice = CSV.parse(try await mirror.run(["events", "--entity", "coworkerinvoice:1419044866"]).output)
        #expect(invoice.dropFirst().map { $0[2] } == [
            "CoworkerInvoiceAwaitingPayment", "CoworkerInvoiceDelete", "CoworkerInvoicePaid",
        ])
        let paid = CSV.parse(try await mirror.run(["events", "--action", "21", "--format", "csv"]).output)
        #expect(paid.dropFirst().map { $0[2] } == ["CoworkerInvoicePaid"])
        #expect(CSV.parse(try await mirror.run(["events", "--since", "2999-01-01"]).output).count == 1)
        #expect(CSV.parse(try await mirror.run(["events", "--since", "2000-01-01T00:00:00+01:00"]).output).count == 33)

        let unknown = try await mirror.run(["events", "--action", "Nope"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr == "Error: unknown action 'Nope'; `nexmirror actions` lists them\n")
    }

    @Test func eventsShowsQuarantinedDeliveriesWithTheirReason() async throws {
        let mirror = try await Mirror.fromFixtures()
        try await mirror.importLines([#"{"action": "BookingCreate", "body": "{\"Id\": 1}"}"#])
        let result = try await mirror.run(["events", "--quarantined", "--format", "jsonl"])
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(object["seq"] as? Int == 33)
        #expect(object["status"] as? String == "quarantined")
        #expect(object["error"] as? String == "body is a JSON object, expected an array holding one DTO")
        #expect(object["entity_id"] is NSNull)
    }

    @Test func eventsShowPrintsEveryBodyByteForByte() async throws {
        let mirror = try await Mirror.fromFixtures()
        for (index, name) in NexudusFixtures.names.enumerated() {
            let result = try await mirror.run(["events", "show", String(index + 1)])
            #expect(result.status == 0)
            #expect(result.stdout == Data(NexudusFixtures.body(name)), "\(name)")
            #expect(result.stderr.hasPrefix("seq=\(index + 1) received_at="), "\(name)")
            #expect(result.stderr.contains(" action=\(NexudusFixtures.action(of: name)) "), "\(name)")
        }
        let metadata = try await mirror.run(["events", "show", "32", "--metadata"])
        let object = try #require(try JSONSerialization.jsonObject(with: metadata.stdout) as? [String: Any])
        #expect(object["action"] as? String == "CoworkerCreate")
        #expect(object["bytes"] as? Int == NexudusFixtures.body("emoji-name").count)
        #expect(object["signature"] as? String == "imported")
        #expect(object["body"] == nil)

        let missing = try await mirror.run(["events", "show", "99"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "Error: no delivery with seq 99; the log holds 1…32\n")
    }

    // MARK: status

    @Test func statusReportsTablesLogAndProjections() async throws {
        let mirror = try await Mirror.fromFixtures()
        try await mirror.importLines([#"{"action": "BookingCreate", "body": "oops"}"#])
        let result = try await mirror.run(["status", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let status = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        let log = try #require(status["log"] as? [String: Any])
        #expect(log["deliveries"] as? Int == 33)
        #expect(log["last_seq"] as? Int == 33)
        #expect(log["quarantined"] as? Int == 1)
        #expect((log["file_bytes"] as? Int ?? 0) > 0)
        let tables = try #require(status["tables"] as? [String: Int])
        #expect(tables["coworkers"] == 2 && tables["invoices"] == 6 && tables["invoice_events"] == 9)
        #expect(tables["members"] == 2 && tables["tombstones"] == 7 && tables["teams"] == 0)
        let projections = try #require(status["projections"] as? [[String: Any]])
        #expect(projections.map { $0["name"] as? String } == [
            "coworkers", "bookings", "invoices", "teams", "checkins", "proposals", "contracts", "entities",
        ])
        #expect(projections.allSatisfy { $0["checkpoint"] as? Int == 33 && $0["lag"] as? Int == 0 })
        let actions = try #require(status["actions"] as? [[String: Any]])
        #expect(actions.first { $0["action"] as? String == "CoworkerCreate" }?["deliveries"] as? Int == 2)
        // Every action received, plus the projected ones never received (state "never").
        #expect(actions.filter { ($0["deliveries"] as? Int ?? 0) > 0 }.count == 31)
        #expect(actions.filter { ($0["deliveries"] as? Int ?? 0) == 0 }.allSatisfy { $0["state"] as? String == "never" })
        let rejections = try #require(status["rejections"] as? [String: Any])
        #expect(rejections["total"] as? Int == 0)
        #expect(status["hint"] == nil || status["hint"] is NSNull)

        let text = try await mirror.run(["status"])
        #expect(text.output.contains("event log    33 deliveries, last seq 33, 1 quarantined"))
        #expect(!text.output.contains("hint:"))
    }

    @Test func statusHintsAtAWrongSecretAfterRejections() async throws {
        let scratch = Scratch()
        let database = scratch.path("mirror.sqlite")
        let server = try await RunningServer(arguments: ["--db", database, "--secret-file", scratch.secretFile()])
        #expect(try await HTTP.deliver("CoworkerCreate", to: server).status == 200)
        for fixture in ["BookingCreate", "TeamCreated"] {
            let refused = try await HTTP.post(
                "\(server.baseURL)/webhooks/\(fixture)", body: NexudusFixtures.body(fixture),
                headers: [("X-Nexudus-Hook-Signature", NexudusFixtures.signature("CoworkerCreate"))])
            #expect(refused.status == 401)
        }
        await server.stop()
        let result = try await CLI.run(["status", "--db", database, "--format", "json"])
        let status = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        let rejections = try #require(status["rejections"] as? [String: Any])
        #expect(rejections["total"] as? Int == 2)
        #expect(rejections["since_last_verified"] as? Int == 2)
        #expect(rejections["last_reason"] as? String == "mismatch")
        #expect((status["hint"] as? String)?.contains("secret in Nexudus probably differs") == true)
        let text = try await CLI.run(["status", "--db", database])
        #expect(text.output.contains("rejected     2 signature rejections"))
        #expect(text.output.contains("\nhint: 2 deliveries were rejected for their signature since the last verified one"))
    }

    // MARK: every command

    @Test func aMissingOrForeignDatabaseIsOneLineAndStatus1() async throws {
        let scratch = Scratch()
        let missing = scratch.path("missing.sqlite")
        let foreign = scratch.path("foreign.sqlite")
        try Data("not a database at all, just text".utf8).write(to: URL(fileURLWithPath: foreign))
        let commands = [["query", "SELECT 1"], ["export", "members"], ["events"], ["events", "show", "1"], ["status"]]
        for command in commands {
            let result = try await CLI.run(command + ["--db", missing])
            #expect(result.status == 1, "\(command)")
            #expect(result.stderr == "Error: no database at \(missing); start `nexmirror serve` first, or pass --db / set NEXMIRROR_DB\n")
            let fromEnvironment = try await CLI.run(command, environment: ["NEXMIRROR_DB": missing])
            #expect(fromEnvironment.stderr == result.stderr, "\(command)")
            let wrong = try await CLI.run(command + ["--db", foreign])
            #expect(wrong.status == 1, "\(command)")
            #expect(wrong.stderr == "Error: \(foreign) is not a nexmirror database (not an SQLite file)\n", "\(command)")
        }
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test func everyCommandHasHelpWithAnExample() async throws {
        for command in [["query"], ["export"], ["events"], ["events", "show"], ["status"], ["import"]] {
            let help = try await CLI.run(command + ["--help"])
            #expect(help.status == 0, "\(command)")
            #expect(help.output.contains("Example"), "\(command)")
            #expect(help.output.contains("nexmirror \(command.joined(separator: " "))"), "\(command)")
        }
        #expect(try await CLI.run(["events", "list", "--help"]).output.contains("--db"))
        #expect(try await CLI.run(["query", "--help"]).output.contains("--db"))
    }
}

/// A database in a scratch directory, filled by `nexmirror import` from the fixtures.
struct Mirror {
    let scratch: Scratch
    let path: String
    let imported: CommandResult

    /// Every fixture in `NexudusFixtures.names` order (seq 1…32), or all but the deletes.
    static func fromFixtures(skippingDeletes: Bool = false) async throws -> Mirror {
        let scratch = Scratch()
        let names = NexudusFixtures.names.filter { !skippingDeletes || !$0.contains("Delete") }
        let lines = NexudusFixtures.importLines(names)
        let file = scratch.path("fixtures.jsonl")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: file))
        let path = scratch.path("mirror.sqlite")
        let imported = try await CLI.run(["import", "--db", path, file])
        return Mirror(scratch: scratch, path: path, imported: imported)
    }

    func run(_ arguments: [String], stdin: [UInt8]? = nil) async throws -> CommandResult {
        try await CLI.run(arguments + ["--db", path], stdin: stdin)
    }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: scratch.path(name)))
    }

    func importLines(_ lines: [String]) async throws {
        let name = "extra-\(UUID().uuidString).jsonl"
        try write(name, lines.joined(separator: "\n"))
        let result = try await run(["import", scratch.path(name)])
        #expect(result.status == 0, "\(result.stderr)")
    }

    func csv(_ sql: String, parameters: [String] = []) async throws -> [[String]] {
        let result = try await run(["query", "--format", "csv"] + parameters.flatMap { ["--param", $0] } + [sql])
        #expect(result.status == 0, "\(sql): \(result.stderr)")
        return CSV.parse(result.output)
    }

    func counts() async throws -> [String: Int] {
        let rows = try await csv("""
            SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM coworkers), (SELECT count(*) FROM bookings),
                   (SELECT count(*) FROM invoices), (SELECT count(*) FROM members)
            """)
        let values = rows[1].map { Int($0) ?? -1 }
        return Dictionary(uniqueKeysWithValues: zip(["events", "coworkers", "bookings", "invoices", "members"], values))
    }
}

/// An RFC 4180 reader for checking what the binary writes.
enum CSV {
    static func parse(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var characters = text.unicodeScalars.makeIterator()
        var pending = characters.next()
        while let character = pending {
            pending = characters.next()
            if quoted {
                if character == "\"" {
                    if pending == "\"" {
                        field.unicodeScalars.append("\"")
                        pending = characters.next()
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(character)
                }
                continue
            }
            switch character {
            case "\"": quoted = true
            case ",": row.append(field); field = ""
            case "\r" where pending == "\n": break
            case "\n": row.append(field); rows.append(row); row = []; field = ""
            default: field.unicodeScalars.append(character)
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }
}
