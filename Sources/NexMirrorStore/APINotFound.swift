import NexMirrorCore

/// A delete that `nexmirror sync` logs when the API no longer lists an id and its
/// `GET …/{id}` answers 404.
///
/// Kinds whose entity type has a Delete action in the catalog log it as that action. Resources
/// and businesses have none, and `actions` lists exactly the catalog's 90, so the API's 404 is
/// logged under the kind's record action (`None` for Resource, `BusinessUpdate`) with
/// `signature = 'api-404'` (`source = 'api'`), and the fold treats such an event as a Delete of
/// its entity type. Either way the body is the bare `{"Id":N}`: without `UpdatedOn` the delete
/// is final (SPEC §4.3), so no later webhook resurrects the id, and `rebuild` reproduces it
/// because the decision reads only the log.
public enum APINotFound {
    /// The `events.signature` of a delete logged for the API's 404.
    public static let signature = SignatureForm.api404

    /// The delivery for `id` of `entityType`: under the type's Delete action when the catalog
    /// has one, else under `recordAction` marked as the API's 404.
    public static func delivery(
        id: Int64, entityType: String, deleteAction: WebhookAction?, recordAction: WebhookAction
    ) -> NewDelivery {
        NewDelivery(
            action: deleteAction ?? recordAction, body: Array("{\"Id\":\(id)}".utf8), source: .api,
            signature: signature, entityType: entityType)
    }

    /// Whether a logged event deletes its entity.
    public static func deletes(action: WebhookAction, signature: String?) -> Bool {
        action.isDelete || signature == Self.signature.rawValue
    }
}
