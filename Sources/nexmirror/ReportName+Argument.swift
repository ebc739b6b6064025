import ArgumentParser

/// A report is a closed choice: as an argument, `--help` and a wrong name list the reports, and
/// any case is accepted (`Members` is `members`).
extension ReportName: ExpressibleByArgument {
    init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}
