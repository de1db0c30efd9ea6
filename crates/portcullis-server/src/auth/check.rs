//! The rules of "who may call this", as one small builder.
//!
//! An endpoint states what it accepts (a session; a session with one of some roles; a client
//! allowed a scope; an administrator) and what it tells a caller it refuses; [`AuthCheck::allows`]
//! decides for a verified [`Caller`]. The decision is pure, so every rule is a row of the table
//! tests below rather than an `if` in a route.

use portcullis_store::model::ClientRecord;

use super::token::AuthSession;
use crate::services::ServiceError;
use crate::services::clients;

/// The role that makes a session an administrator's.
pub const ADMIN_ROLE: &str = "admin";

/// A verified caller, as far as authorization cares.
#[derive(Debug)]
pub enum Caller {
    /// A user's live session.
    Session(AuthSession),
    /// A service account, active, with the scopes this request may use.
    Client {
        /// The client as stored.
        client: ClientRecord,
        /// The scopes granted to the token it presented; `None` when it authenticated with
        /// its own credentials (HTTP Basic), which carry all the scopes it is allowed.
        token_scopes: Option<String>,
    },
}

impl Caller {
    /// Whether this client caller may use `scope`: granted to its token (if it used one) and
    /// still allowed to the client (its scopes may have been cut since).
    fn client_may(client: &ClientRecord, token_scopes: Option<&str>, scope: &str) -> bool {
        let granted = token_scopes.is_none_or(|s| s.split(' ').any(|s| s == scope));
        granted && clients::allows(client, scope)
    }
}

/// Which sessions an endpoint accepts.
#[derive(Clone, Copy, Debug)]
enum Sessions<'a> {
    /// None.
    Refused,
    /// Any live session.
    Any,
    /// A session carrying at least one of these roles.
    AnyRole(&'a [&'a str]),
    /// A session carrying at least one of these roles (as configured).
    AnyConfiguredRole(&'a [String]),
}

/// What an endpoint accepts, and how it says no. Build with [`AuthCheck::new`], then
/// [`AuthCheck::allows`].
#[derive(Clone, Copy, Debug)]
#[must_use]
pub struct AuthCheck<'a> {
    sessions: Sessions<'a>,
    client_scope: Option<&'a str>,
    session_refusal: &'static str,
    client_refusal: &'static str,
}

impl<'a> AuthCheck<'a> {
    /// Accepts nobody yet; `refusal` is what a refused caller is told.
    pub fn new(refusal: &'static str) -> Self {
        AuthCheck {
            sessions: Sessions::Refused,
            client_scope: None,
            session_refusal: refusal,
            client_refusal: refusal,
        }
    }

    /// Accepts any live session.
    pub fn any_session(mut self) -> Self {
        self.sessions = Sessions::Any;
        self
    }

    /// Accepts a session carrying one of `roles`.
    pub fn session_with_role(mut self, roles: &'a [&'a str]) -> Self {
        self.sessions = Sessions::AnyRole(roles);
        self
    }

    /// Accepts a session carrying one of the configured `roles`.
    pub fn session_with_configured_role(mut self, roles: &'a [String]) -> Self {
        self.sessions = Sessions::AnyConfiguredRole(roles);
        self
    }

    /// Accepts an administrator's session.
    pub fn admin(self) -> Self {
        self.session_with_role(&[ADMIN_ROLE])
    }

    /// Accepts a service account allowed `scope`; one that lacks it is told `refusal`.
    pub fn client_with_scope(mut self, scope: &'a str, refusal: &'static str) -> Self {
        self.client_scope = Some(scope);
        self.client_refusal = refusal;
        self
    }

    /// Whether `caller` may go on.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`] with the refusal that applies to this kind of caller.
    pub fn allows(&self, caller: &Caller) -> Result<(), ServiceError> {
        match caller {
            Caller::Session(session) => self.allows_session(session),
            Caller::Client {
                client,
                token_scopes,
            } => {
                let allowed = self.client_scope.is_some_and(|scope| {
                    Caller::client_may(client, token_scopes.as_deref(), scope)
                });
                allowed
                    .then_some(())
                    .ok_or(ServiceError::Forbidden(self.client_refusal))
            }
        }
    }

    /// Whether a user's `session` may go on (for endpoints only sessions reach).
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`] with the refusal for sessions.
    pub fn allows_session(&self, session: &AuthSession) -> Result<(), ServiceError> {
        let allowed = match self.sessions {
            Sessions::Refused => false,
            Sessions::Any => true,
            Sessions::AnyRole(roles) => roles.iter().any(|r| session.has_role(r)),
            Sessions::AnyConfiguredRole(roles) => roles.iter().any(|r| session.has_role(r)),
        };
        allowed
            .then_some(())
            .ok_or(ServiceError::Forbidden(self.session_refusal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::ids::{AccountId, SessionId};
    use portcullis_core::token::AccessClaims;
    use portcullis_store::model::ClientStatus;

    fn session(roles: &[&str]) -> Caller {
        let account = AccountId::new(1, [1; 10]);
        let sid = SessionId::new(2, [2; 10]);
        Caller::Session(AuthSession {
            claims: AccessClaims {
                iss: "https://auth.test".into(),
                sub: account.to_string(),
                aud: "portcullis".into(),
                exp: 100,
                iat: 0,
                nbf: 0,
                jti: "j".into(),
                sid: sid.to_string(),
                acr: "aal1".into(),
                amr: vec!["pwd".into()],
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                auth_time: 0,
                scope: None,
                cnf: None,
            },
            account,
            session: sid,
        })
    }

    fn client(allowed: &[&str], token_scopes: Option<&str>) -> Caller {
        Caller::Client {
            client: ClientRecord {
                id: "ledger".into(),
                name: "ledger".into(),
                secret_hash: portcullis_core::secret::TokenHash::from_bytes([0; 32]),
                scopes: allowed.iter().map(|s| (*s).to_owned()).collect(),
                status: ClientStatus::Active,
                created_at: 0,
                updated_at: 0,
            },
            token_scopes: token_scopes.map(str::to_owned),
        }
    }

    const FEED: &str = "portcullis:revocations";

    #[test]
    fn each_rule_accepts_exactly_its_callers() {
        let configured = vec!["auditor".to_owned(), "admin".to_owned()];
        let any = AuthCheck::new("no").any_session();
        let admin = AuthCheck::new("admins only").admin();
        let roles = AuthCheck::new("no").session_with_configured_role(&configured);
        let feed = AuthCheck::new("services and administrators")
            .session_with_configured_role(&configured)
            .client_with_scope(FEED, "lacks the scope");
        let client_only = AuthCheck::new("clients only").client_with_scope(FEED, "lacks it");
        let nobody = AuthCheck::new("nobody");

        #[rustfmt::skip]
        let table: Vec<(&str, &AuthCheck<'_>, Caller, Result<(), &str>)> = vec![
            ("any session: a plain user",         &any,   session(&[]),          Ok(())),
            ("any session: not a client",         &any,   client(&[FEED], None), Err("no")),
            ("admin: an administrator",           &admin, session(&["admin"]),   Ok(())),
            ("admin: another role",               &admin, session(&["advisor"]), Err("admins only")),
            ("roles: one of the configured",      &roles, session(&["auditor"]), Ok(())),
            ("roles: none of them",               &roles, session(&["client"]),  Err("no")),
            ("feed: an auditor's session",        &feed,  session(&["auditor"]), Ok(())),
            ("feed: a user's session",            &feed,  session(&["client"]),  Err("services and administrators")),
            ("feed: client, scope in its token",  &feed,  client(&[FEED], Some(FEED)), Ok(())),
            ("feed: client, token lacks scope",   &feed,  client(&[FEED], Some("x")),  Err("lacks the scope")),
            ("feed: client no longer allowed",    &feed,  client(&["x"], Some(FEED)),  Err("lacks the scope")),
            ("feed: client with Basic, allowed",  &feed,  client(&[FEED], None), Ok(())),
            ("feed: client with Basic, not",      &feed,  client(&["x"], None),  Err("lacks the scope")),
            ("clients only: a session",           &client_only, session(&["admin"]), Err("clients only")),
            ("nobody: an administrator",          &nobody, session(&["admin"]), Err("nobody")),
            ("nobody: a client",                  &nobody, client(&[FEED], None), Err("nobody")),
        ];
        for (name, check, caller, expected) in table {
            let got = check.allows(&caller).map_err(|e| match e {
                ServiceError::Forbidden(why) => why,
                _ => "not a Forbidden refusal",
            });
            assert_eq!(got, expected, "{name}");
        }
    }
}
