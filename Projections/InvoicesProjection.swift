import NexMirrorCore

/// Member invoices (`invoices`) and one `invoice_events` row per invoice delivery, so the life
/// of an invoice (created, paid, refunded…) stays visible after its row is replaced.
public struct InvoicesProjection: Projection {
    public let name = "invoices"
    public let version = 1
    public let entityTypes: Set<String>? = ["CoworkerInvoice"]
    public let table = "invoices"
    /// The columns of `invoices` after the common ones, each with how a DTO fills it.
    static let projected: [ProjectedColumn] = [
        ProjectedColumn("coworker_id") { dto throws(DTO.FieldError) in SQLValue(try dto.int64("CoworkerId")) },
        ProjectedColumn("business_id") { dto throws(DTO.FieldError) in SQLValue(try dto.int64("BusinessId")) },
        ProjectedColumn("invoice_number") { dto throws(DTO.FieldError) in SQLValue(try dto.string("InvoiceNumber")) },
        ProjectedColumn("currency_code") { dto throws(DTO.FieldError) in SQLValue(try dto.string("CurrencyCode")) },
        ProjectedColumn("total_amount") { dto throws(DTO.FieldError) in SQLValue(try dto.amount("TotalAmount")) },
        ProjectedColumn("paid_amount") { dto throws(DTO.FieldError) in SQLValue(try dto.amount("PaidAmount")) },
        ProjectedColumn("paid") { dto throws(DTO.FieldError) in SQLValue(try dto.bool("Paid")) },
        ProjectedColumn("paid_on") { dto throws(DTO.FieldError) in SQLValue(try dto.timestamp("PaidOn")) },
        ProjectedColumn("due_date") { dto throws(DTO.FieldError) in SQLValue(try dto.timestamp("DueDate")) },
        ProjectedColumn("status") { dto throws(DTO.FieldError) in SQLValue(try InvoicesProjection.status(of: dto)) },
    ]
    public let columns = InvoicesProjection.projected.map(\.name)
    public let historyTable: HistoryTable? = HistoryTable(
        name: "invoice_events", columns: ["invoice_id", "action", "occurred_at"])

    public init() {}

    public func project(_ input: FoldInput) throws(DTO.FieldError) -> ProjectedEntity {
        ProjectedEntity(values: try Self.projected.values(of: input.dto))
    }

    public func history(_ input: FoldInput) -> [SQLValue]? {
        [.integer(input.entityId), .text(input.action.name), SQLValue(input.updatedOn)]
    }

    /// The invoice's state from its flags; a credit note or a void invoice is that first of all,
    /// then money movements, then whether it was issued.
    static func status(of dto: DTO) throws(DTO.FieldError) -> String {
        if try dto.bool("CreditNote") == true { return "credit_note" }
        if try dto.bool("Void") == true { return "void" }
        if try dto.bool("Refunded") == true { return "refunded" }
        if try dto.bool("Paid") == true { return "paid" }
        if try dto.bool("Draft") == true { return "draft" }
        return "awaiting_payment"
    }
}
