//! Identity and token administration (`/api/admin/identities`, `/api/admin/tokens`, admin
//! token). Writes are sent once.

use reqwest::Method;

use cryptoserve_api::{
    CreateIdentity, CreatedIdentity, IdentityList, IdentityRecord, RevokeToken, RevokedToken,
};

use crate::error::Result;
use crate::retry::Repeat;
use crate::transport::Call;
use crate::Client;

const IDENTITIES: [&str; 3] = ["api", "admin", "identities"];

impl Client {
    /// Creates an identity and returns it with its token (shown only here).
    ///
    /// ```no_run
    /// # async fn run(client: cryptoserve_client::Client) -> cryptoserve_client::Result<()> {
    /// use cryptoserve_client::api::{CreateIdentity, Role};
    ///
    /// let created = client
    ///     .create_identity(&CreateIdentity {
    ///         contexts: Some(vec!["payments".into()]),
    ///         ..CreateIdentity::new("billing", Role::Service)
    ///     })
    ///     .await?;
    /// println!("{} {}", created.identity.id, created.token);
    /// # Ok(()) }
    /// ```
    pub async fn create_identity(&self, identity: &CreateIdentity) -> Result<CreatedIdentity> {
        let call = Call::new(Method::POST, &IDENTITIES, Repeat::Once).json(identity)?;
        self.call(call).await
    }

    /// Every identity.
    pub async fn list_identities(&self) -> Result<Vec<IdentityRecord>> {
        let list: IdentityList = self.call(Call::get(&IDENTITIES)).await?;
        Ok(list.identities)
    }

    /// One identity by id.
    pub async fn identity(&self, id: &str) -> Result<IdentityRecord> {
        let mut segments = IDENTITIES.to_vec();
        segments.push(id);
        self.call(Call::get(&segments)).await
    }

    /// Revokes an identity, permanently, with every token it holds.
    pub async fn revoke_identity(&self, id: &str) -> Result<IdentityRecord> {
        let mut segments = IDENTITIES.to_vec();
        segments.push(id);
        self.call(Call::new(Method::DELETE, &segments, Repeat::Once))
            .await
    }

    /// Revokes one token (its identity stays valid).
    pub async fn revoke_token(&self, token: &str) -> Result<RevokedToken> {
        let body = RevokeToken {
            token: token.to_owned(),
        };
        let call = Call::new(
            Method::POST,
            &["api", "admin", "tokens", "revoke"],
            Repeat::Once,
        )
        .json(&body)?;
        self.call(call).await
    }
}
