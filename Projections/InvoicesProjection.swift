import NexMirrorCore

/// Member invoices (`invoices`) and one `invoice_events` row per invoice delivery, so the life
/// of an invoice (created, paid, refunded…) stays visible after its row is replaced.
public struct InvoicesProjection: Projection {
    public let name = "invoices"
    public let version = 1
    public let entityTypes: Set<String>? = ["CoworkerInvoice"]
    public let table = "invoices"
    public let columns = [
        "coworker_id", "business_id", "invoice_number", "currency_code", "total_amount",
        "paid_amount", "paid", "paid_on", "due_date", "status",
    ]
    public let historyTable: HistoryTable? = HistoryTable(
        name: "invoice_events", columns: ["invoice_id", "action", "occurred_at"])

    public init() {}

    public func project(_ input: FoldInput) throws(DTO.FieldError) -> ProjectedEntity {
        let dto = input.dto
        return ProjectedEntity(values: [
            SQLValue(try dto.int64("CoworkerId")),
            SQLValue(try dto.int64("BusinessId")),
            SQLValue(try dto.string("InvoiceNumber")),
            SQLValue(try dto.string("CurrencyCode")),
            SQLValue(try dto.amount("TotalAmount")),
            SQLValue(try dto.amount("PaidAmount")),
            SQLValue(try dto.bool("Paid")),
            SQLValue(try dto.timestamp("PaidOn")),
            SQLValue(try dto.timestamp("DueDate")),
            SQLValue(try Self.status(of: dto)),
        ])
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
