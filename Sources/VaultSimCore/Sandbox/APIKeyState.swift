import Foundation

/// Where the app's API key is in its life. A key the vault knows but will not accept answers
/// with the typed key error the App generation raises as its own class (0.23.1+:
/// `KeyRevokedError`, `KeyExpiredError`, `KeyRotationExpiredError`, `KeyInactiveError`,
/// `KeyAppNotFoundError`), each with a `hint` saying what to do. A key the vault does not know at
/// all is `invalid_key`, answered before any sandbox is found.
public enum APIKeyState: String, Sendable, CaseIterable {
    case active
    /// Individually revoked in the developer portal.
    case revoked
    /// Past its configured expiry.
    case expired
    /// Replaced by a new key, and the overlap in which the old one still worked has ended.
    case rotated
    /// In a lifecycle state that cannot authenticate (such as a key still being provisioned).
    case inactive
    /// The key resolves, but the app that owned it was deleted.
    case appDeleted = "app_deleted"

    /// The refusal for a request made with a key in this state; nil for an active key.
    public var refusal: VaultError? {
        let portal = "Create a new API key for this app in the developer portal and set ALTER_API_KEY to it."
        func key(_ code: String, _ message: String, _ hint: String) -> VaultError {
            VaultError(status: 401, code: code, message: message, topLevel: ["hint": .string(hint)])
        }
        switch self {
        case .active: return nil
        case .revoked: return key("key_revoked", "API key has been revoked", "This key was revoked. " + portal)
        case .expired: return key("key_expired", "API key has expired", "This key passed its expiry date. " + portal)
        case .rotated:
            return key("key_rotated_grace_expired", "API key rotation grace period has expired",
                       "This key was rotated and its grace period is over; use the replacement key.")
        case .inactive: return key("key_not_active", "API key is not active", "This key is not active yet or any more. " + portal)
        case .appDeleted:
            return VaultError(status: 503, code: "app_not_found_for_key", message: "App not found for API key",
                              topLevel: ["hint": .string("The app that owned this key was deleted; keys of a deleted app cannot be used.")])
        }
    }
}
