import NexMirrorStore
import Testing

@Suite struct QueryParametersTests {
    @Test func valuesAreTypedAsTheHelpSays() throws {
        let parameters = try QueryParameters(["min=1000", ":real=1608.54", "@zip=007", "$exp=1e5", "day=2026-03-02", "neg=-7"])
        #expect(parameters.values == [
            "min": .integer(1000), "real": .real(1608.54), "zip": .text("007"), "exp": .text("1e5"),
            "day": .text("2026-03-02"), "neg": .integer(-7),
        ])
    }

    @Test func malformedParametersAreRefusedWithTheReason() {
        #expect(throws: QueryError.notNameValue("min")) { try QueryParameters(["min"]) }
        #expect(throws: QueryError.badParameterName("a-b")) { try QueryParameters(["a-b=1"]) }
        #expect(throws: QueryError.parameterGivenTwice("x")) { try QueryParameters(["x=1", ":x=2"]) }
    }

    @Test func everyUsedParameterMustBeGivenAndEveryGivenOneUsed() throws {
        let parameters = try QueryParameters(["min=1"])
        try parameters.check(written: [":min", "@min"])
        #expect(throws: QueryError.positionalParameter) { try parameters.check(written: [nil]) }
        #expect(throws: QueryError.numberedParameter("?1")) { try parameters.check(written: ["?1"]) }
        #expect(throws: QueryError.missingParameter(written: ":max", name: "max")) {
            try parameters.check(written: [":min", ":max"])
        }
        #expect(throws: QueryError.unusedParameter("min")) { try parameters.check(written: []) }
    }

    @Test func firstKeywordSkipsBlanksAndComments() {
        #expect(QueryError.firstKeyword(of: "  -- note\n /* block */ ;attach 'x' AS y") == "ATTACH")
        #expect(QueryError.firstKeyword(of: "/* unterminated") == "")
    }

    @Test func onlyBlanksSemicolonsAndCommentsHoldNoStatement() {
        #expect(QueryError.holdsNoStatement("  -- nothing\n ; /* at all */ "))
        #expect(!QueryError.holdsNoStatement("-- a note\n(SELECT 1)"))
        // An unterminated comment is the database's to report.
        #expect(!QueryError.holdsNoStatement("/* unterminated"))
    }

    @Test func postgreSQLURLsSelectPostgreSQLAndAnythingElseIsASQLitePath() {
        #expect(StoreLocation("postgresql://u@h/db") == .postgreSQL(url: "postgresql://u@h/db"))
        #expect(StoreLocation("POSTGRES://h/db") == .postgreSQL(url: "POSTGRES://h/db"))
        #expect(StoreLocation("./postgres.sqlite") == .sqlite(path: "./postgres.sqlite"))
    }
}
