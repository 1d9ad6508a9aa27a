//! Rate-limit administration (`/api/admin/rate-limits`, admin token). Writes are sent once.

use reqwest::Method;

use cryptoserve_api::{
    OverrideScope, PolicyBody, PolicyInForce, PolicyList, RateLimitDimension, RateLimitPolicyRecord,
};

use crate::error::Result;
use crate::retry::Repeat;
use crate::transport::Call;
use crate::Client;

fn path<'a>(tail: &[&'a str]) -> Vec<&'a str> {
    let mut segments = vec!["api", "admin", "rate-limits"];
    segments.extend_from_slice(tail);
    segments
}

impl Client {
    /// The defaults per dimension and every override.
    pub async fn rate_limits(&self) -> Result<PolicyList> {
        self.call(Call::get(&path(&[]))).await
    }

    /// The policy in force for one context or identity (its override, or the default).
    pub async fn rate_limit(&self, scope: OverrideScope, key: &str) -> Result<PolicyInForce> {
        self.call(Call::get(&path(&[scope.as_str(), key]))).await
    }

    /// Sets the default policy of a dimension.
    pub async fn set_rate_limit_default(
        &self,
        dimension: RateLimitDimension,
        policy: PolicyBody,
    ) -> Result<RateLimitPolicyRecord> {
        let call = Call::new(
            Method::PUT,
            &path(&["defaults", dimension.as_str()]),
            Repeat::Once,
        )
        .json(&policy)?;
        self.call(call).await
    }

    /// Sets the override for one context (by name) or identity (by id).
    ///
    /// ```no_run
    /// # async fn run(client: cryptoserve_client::Client, id: &str) -> cryptoserve_client::Result<()> {
    /// use cryptoserve_client::api::{OverrideScope, PolicyBody};
    ///
    /// client
    ///     .set_rate_limit_override(OverrideScope::Identity, id, PolicyBody::new(600, 50))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_rate_limit_override(
        &self,
        scope: OverrideScope,
        key: &str,
        policy: PolicyBody,
    ) -> Result<RateLimitPolicyRecord> {
        let call =
            Call::new(Method::PUT, &path(&[scope.as_str(), key]), Repeat::Once).json(&policy)?;
        self.call(call).await
    }

    /// Removes an override; the dimension's default applies again.
    pub async fn delete_rate_limit_override(&self, scope: OverrideScope, key: &str) -> Result<()> {
        let call = Call::new(Method::DELETE, &path(&[scope.as_str(), key]), Repeat::Once);
        self.send(&call).await?;
        Ok(())
    }

    /// Fills a bucket again (`key`: an IP address, identity id or context name).
    pub async fn reset_rate_limit(&self, dimension: RateLimitDimension, key: &str) -> Result<()> {
        let call = Call::new(
            Method::POST,
            &path(&["reset", dimension.as_str(), key]),
            Repeat::Once,
        );
        self.send(&call).await?;
        Ok(())
    }
}
