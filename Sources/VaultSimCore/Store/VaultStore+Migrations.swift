import Foundation
import GRDB

extension VaultStore {
    /// The schema, one named migration per change. Never edit a shipped migration: add one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: apps, keys, providers, grants, tokens, audit, journals") { db in
            try db.create(table: "sandbox_meta") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
            try db.create(table: "apps") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("created_at", .datetime).notNull()
            }
            try db.create(table: "api_keys") { t in
                t.primaryKey("key_hash", .text)
                t.column("app_id", .text).notNull().references("apps", onDelete: .cascade)
                t.column("prefix", .text).notNull()
                t.column("created_at", .datetime).notNull()
                t.column("revoked_at", .datetime)
            }
            try db.create(table: "provider_configs") { t in
                t.primaryKey("provider_id", .text)
                t.column("client_id", .text)
                t.column("client_secret", .text)
                t.column("is_configured", .boolean).notNull()
            }
            try db.create(table: "grants") { t in
                t.primaryKey("id", .text)
                t.column("kind", .text).notNull()
                t.column("provider_id", .text).notNull().indexed()
                t.column("status", .text).notNull()
                t.column("account_identifier", .text)
                t.column("account_display_name", .text)
                t.column("scopes", .text).notNull()
                t.column("created_at", .datetime).notNull()
                t.column("revoked_at", .datetime)
                t.column("revoke_reason", .text)
                t.column("expires_at", .datetime)
                t.column("last_used_at", .datetime)
            }
            try db.create(table: "managed_secrets") { t in
                t.primaryKey("grant_id", .text).references("grants", onDelete: .cascade)
                t.column("type", .text).notNull()
                t.column("secret", .text).notNull()
                t.column("identifier", .text)
                t.column("header_name", .text)
                t.column("secondary_name", .text)
                t.column("region", .text)
                t.column("service", .text)
            }
            try db.create(table: "issued_tokens") { t in
                t.primaryKey("token", .text)
                t.column("kind", .text).notNull()
                t.column("grant_id", .text).notNull().indexed().references("grants", onDelete: .cascade)
                t.column("provider_id", .text).notNull()
                t.column("scopes", .text).notNull()
                t.column("issued_at", .datetime).notNull()
                t.column("expires_at", .datetime)
                t.column("revoked_at", .datetime)
            }
            try db.create(table: "actors") { t in
                t.primaryKey("id", .text)
                t.column("caller", .text).notNull()
                t.column("caller_type", .text).notNull()
                t.column("first_seen_at", .datetime).notNull()
                t.uniqueKey(["caller", "caller_type"])
            }
            try db.create(table: "audit_records") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("received_at", .datetime).notNull()
                t.column("grant_id", .text).indexed()
                t.column("caller", .text)
                t.column("caller_type", .text)
                t.column("context_header", .text)
                t.column("actor_id", .text)
                t.column("payload", .text).notNull()
            }
            try db.create(table: "token_requests") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("received_at", .datetime).notNull()
                t.column("grant_id", .text)
                t.column("provider_id", .text)
                t.column("method", .text)
                t.column("url", .text)
                t.column("reason", .text)
                t.column("caller", .text)
                t.column("caller_type", .text)
                t.column("context_header", .text)
                t.column("actor_id", .text)
                t.column("outcome", .text).notNull()
            }
            try db.create(table: "provider_requests") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("received_at", .datetime).notNull()
                t.column("provider_id", .text).notNull().indexed()
                t.column("method", .text).notNull()
                t.column("path", .text).notNull()
                t.column("query", .text).notNull()
                t.column("headers", .text).notNull()
                t.column("body", .text).notNull()
                t.column("status", .integer).notNull()
                t.column("answered_by", .text).notNull()
            }
        }
        migrator.registerMigration("v2: the vault keeps only what providers answered (vault_credentials)") { db in
            // Provider tokens now live in the providers' own store; the vault keeps the tokens
            // their token endpoints returned. Tokens the old schema minted cannot be carried over.
            try db.drop(table: "issued_tokens")
            try db.create(table: "vault_credentials") { t in
                t.primaryKey("grant_id", .text).references("grants", onDelete: .cascade)
                t.column("access_token", .text).notNull()
                t.column("refresh_token", .text)
                t.column("token_type", .text).notNull()
                t.column("scopes", .text).notNull()
                t.column("expires_at", .datetime)
                t.column("obtained_at", .datetime).notNull()
            }
            try db.alter(table: "provider_configs") { t in
                t.add(column: "redirect_uri", .text)
            }
            try db.alter(table: "provider_requests") { t in
                t.add(column: "host", .text).notNull().defaults(to: "")
                t.add(column: "caller", .text).notNull().defaults(to: "sdk")
                t.add(column: "response_headers", .text).notNull().defaults(to: "[]")
                t.add(column: "response_body", .text).notNull().defaults(to: "")
            }
            try db.create(index: "grants_by_kind_status", on: "grants", columns: ["kind", "status", "provider_id"])
        }
        migrator.registerMigration("v3: required scopes per provider config") { db in
            try db.alter(table: "provider_configs") { t in
                t.add(column: "required_scopes", .text).notNull().defaults(to: "[]")
            }
        }
        migrator.registerMigration("v4: access policies") { db in
            try db.create(table: "policies") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("grant_id", .text).indexed().references("grants", onDelete: .cascade)
                t.column("policy", .text).notNull()
            }
            try db.create(index: "token_requests_by_grant", on: "token_requests", columns: ["grant_id", "received_at"])
        }
        migrator.registerMigration("v5: Connect sessions and flows, allowed scopes per provider config") { db in
            try db.alter(table: "provider_configs") { t in
                t.add(column: "allowed_scopes", .text).notNull().defaults(to: "[]")
            }
            try db.create(table: "connect_sessions") { t in
                t.primaryKey("session_token", .text)
                t.column("allowed_providers", .text)
                t.column("return_url", .text)
                t.column("allowed_origin", .text)
                t.column("metadata", .text)
                t.column("grant_policy", .text)
                t.column("required_scopes", .text)
                t.column("created_at", .datetime).notNull()
                t.column("expires_at", .datetime).notNull()
                t.column("status", .text).notNull()
                t.column("error_code", .text)
                t.column("error_message", .text)
                t.column("results", .text).notNull()
                t.column("opened_at", .datetime)
            }
            try db.create(table: "connect_flows") { t in
                t.primaryKey("state", .text)
                t.column("session_token", .text).notNull().indexed().references("connect_sessions", onDelete: .cascade)
                t.column("provider_id", .text).notNull()
                t.column("code_verifier", .text)
                t.column("scopes", .text).notNull()
                t.column("ttl_seconds", .integer)
                t.column("ttl_chosen_by", .text)
                t.column("created_at", .datetime).notNull()
                t.column("finished_at", .datetime)
            }
        }
        migrator.registerMigration("v6: one journal of HTTP exchanges (headers in order, bodies as bytes)") { db in
            try db.create(table: "exchanges") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("received_at", .datetime).notNull()
                t.column("started_at", .datetime).notNull()
                t.column("seconds", .double).notNull()
                t.column("caller", .text).notNull()
                t.column("service", .text).notNull()
                t.column("step", .text)
                t.column("method", .text).notNull()
                t.column("scheme", .text).notNull()
                t.column("host", .text).notNull()
                t.column("path", .text).notNull()
                t.column("query", .text).notNull()
                t.column("request_headers", .text).notNull()
                t.column("request_body", .blob).notNull()
                t.column("request_body_size", .integer).notNull()
                t.column("status", .integer).notNull()
                t.column("response_headers", .text).notNull()
                t.column("response_body", .blob).notNull()
                t.column("response_body_size", .integer).notNull()
                t.column("answered_by", .text).notNull()
                // A fault's delay before its answer (replay waits it again); 0 for the rest.
                t.column("delay_ms", .integer).notNull().defaults(to: 0)
            }
            try db.create(index: "exchanges_by_service", on: "exchanges", columns: ["service", "caller"])
            // The gateway's journal so far: headers were a JSON object (order and repeats lost),
            // bodies text; response headers already pairs.
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM provider_requests ORDER BY id")
            for row in rows {
                let headers = (JSONValue.parse(row["headers"] as String? ?? "")?.objectValue ?? [:])
                    .sorted { $0.key < $1.key }.map { JSONValue.array([.string($0.key), $0.value]) }
                let requestBody = Data((row["body"] as String? ?? "").utf8)
                let responseBody = Data((row["response_body"] as String? ?? "").utf8)
                try db.execute(sql: """
                    INSERT INTO exchanges (received_at, started_at, seconds, caller, service, method, scheme, host, path, query,
                      request_headers, request_body, request_body_size, status, response_headers, response_body, response_body_size, answered_by)
                    VALUES (?, ?, 0, ?, ?, ?, 'https', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [row["received_at"], row["received_at"], row["caller"], row["provider_id"], row["method"], row["host"],
                                     row["path"], row["query"], JSONValue.array(headers).jsonText, requestBody, requestBody.count,
                                     row["status"], row["response_headers"], responseBody, responseBody.count, row["answered_by"]])
            }
            try db.drop(table: "provider_requests")
        }
        migrator.registerMigration("v7: the signing scheme each SDK request matched") { db in
            for table in ["token_requests", "audit_records"] {
                try db.alter(table: table) { t in t.add(column: "signing_scheme", .text) }
            }
        }
        migrator.registerMigration("v8: repair Connect sessions and reported scope mismatches") { db in
            try db.alter(table: "connect_sessions") { t in t.add(column: "repair_grant_id", .text) }
            try db.alter(table: "grants") { t in
                t.add(column: "scope_mismatch_reported_at", .datetime)
                t.add(column: "reported_missing_scopes", .text)
            }
        }
        migrator.registerMigration("v9: the origin of the page that opened a Connect session in a popup") { db in
            try db.alter(table: "connect_sessions") { t in t.add(column: "popup_origin", .text) }
        }
        migrator.registerMigration("v10: the person a grant belongs to, for identity mode") { db in
            try db.alter(table: "grants") { t in t.add(column: "user_sub", .text) }
        }
        return migrator
    }
}
