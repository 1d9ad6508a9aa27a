//! Context administration (`/api/admin/contexts`, admin token). Writes are sent once.

use reqwest::Method;

use cryptoserve_api::{
    ConfigureContext, ContextDetail, ContextList, ContextRecord, CreateContext, MinVersion,
};

use crate::error::Result;
use crate::retry::Repeat;
use crate::transport::Call;
use crate::Client;

const CONTEXTS: [&str; 3] = ["api", "admin", "contexts"];

fn write(method: Method, tail: &[&str]) -> Call {
    let mut segments = CONTEXTS.to_vec();
    segments.extend_from_slice(tail);
    Call::new(method, &segments, Repeat::Once)
}

impl Client {
    /// Creates a context (key version 1).
    ///
    /// ```no_run
    /// # async fn run(client: cryptoserve_client::Client) -> cryptoserve_client::Result<()> {
    /// use cryptoserve_client::api::{Algorithm, CreateContext};
    ///
    /// let created = client
    ///     .create_context(&CreateContext {
    ///         algorithm: Some(Algorithm::ChaCha20Poly1305.to_string()),
    ///         ..CreateContext::new("payments")
    ///     })
    ///     .await?;
    /// assert_eq!(created.current_version, 1);
    /// # Ok(()) }
    /// ```
    pub async fn create_context(&self, context: &CreateContext) -> Result<ContextRecord> {
        self.call(write(Method::POST, &[]).json(context)?).await
    }

    /// Every context.
    pub async fn list_contexts(&self) -> Result<Vec<ContextRecord>> {
        let list: ContextList = self.call(Call::get(&CONTEXTS)).await?;
        Ok(list.contexts)
    }

    /// One context with its key versions.
    pub async fn context(&self, name: &str) -> Result<ContextDetail> {
        let mut segments = CONTEXTS.to_vec();
        segments.push(name);
        self.call(Call::get(&segments)).await
    }

    /// Rotates: a new current key version.
    pub async fn rotate_context(&self, name: &str) -> Result<ContextRecord> {
        self.call(write(Method::POST, &[name, "rotate"])).await
    }

    /// Retires every version below `version`: their ciphertext is refused from now on.
    pub async fn set_min_decryption_version(
        &self,
        name: &str,
        version: u32,
    ) -> Result<ContextRecord> {
        let call =
            write(Method::PUT, &[name, "min-decryption-version"]).json(&MinVersion { version })?;
        self.call(call).await
    }

    /// Changes the fields set in `config`, keeping the others.
    pub async fn configure_context(
        &self,
        name: &str,
        config: &ConfigureContext,
    ) -> Result<ContextRecord> {
        self.call(write(Method::PATCH, &[name, "config"]).json(config)?)
            .await
    }

    /// Deletes a context whose `deletion_allowed` is set; its ciphertext never decrypts again.
    pub async fn delete_context(&self, name: &str) -> Result<()> {
        self.send(&write(Method::DELETE, &[name])).await?;
        Ok(())
    }
}
