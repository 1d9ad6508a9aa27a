//! Crypto calls (`/api/v1/crypto/...`): bytes in, bytes out; the client does the base64.
//! All are safe to repeat, so they fail over on timeouts and 503s too.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::Method;
use zeroize::Zeroizing;

use cryptoserve_api::{
    BatchRequest, BatchResponse, DataKeyRequest, DataKeyResponse, DecryptItem, DecryptRequest,
    DecryptResponse, EncryptItem, EncryptRequest, EncryptResponse, ItemResult, RewrapRequest,
    RewrapResponse,
};

use crate::error::{Error, Result};
use crate::retry::Repeat;
use crate::transport::Call;
use crate::Client;

/// Options of a crypto call.
#[derive(Debug, Clone, Copy, Default)]
pub struct CryptoOptions<'a> {
    /// Associated data: authenticated, not encrypted; the same bytes are needed to decrypt.
    pub associated_data: Option<&'a [u8]>,
    /// Derivation context for a context created with `derived`: each value gets its own key,
    /// and the same bytes are needed to decrypt.
    pub derivation_context: Option<&'a [u8]>,
}

impl<'a> CryptoOptions<'a> {
    /// Options with associated data.
    pub fn associated_data(associated_data: &'a [u8]) -> Self {
        Self {
            associated_data: Some(associated_data),
            derivation_context: None,
        }
    }

    /// These options with a derivation context (for `derived` contexts).
    pub fn with_derivation_context(mut self, derivation_context: &'a [u8]) -> Self {
        self.derivation_context = Some(derivation_context);
        self
    }
}

/// A fresh data key from [`Client::datakey`].
pub struct DataKey {
    /// The key sealed under the context key (`cs1:v...`): store it; [`Client::decrypt`] gives
    /// the key back.
    pub wrapped_key: String,
    /// The key bytes, when asked for (zeroized on drop, never printed).
    pub plaintext_key: Option<Zeroizing<Vec<u8>>>,
    /// Context key version that wrapped it.
    pub key_version: u32,
    /// Key size in bits.
    pub bits: u32,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey")
            .field("wrapped_key", &self.wrapped_key)
            .field(
                "plaintext_key",
                &self.plaintext_key.as_ref().map(|_| "[redacted]"),
            )
            .field("key_version", &self.key_version)
            .field("bits", &self.bits)
            .finish()
    }
}

/// One item of a batch call: bytes to encrypt, or ciphertext text to decrypt.
#[derive(Debug, Clone, Copy)]
pub struct BatchItem<'a, T: ?Sized> {
    /// Caller's id, echoed in the result (default: the item's index).
    pub id: Option<&'a str>,
    /// Plaintext bytes (`[u8]`) or ciphertext (`str`).
    pub input: &'a T,
    /// Associated data for this item.
    pub associated_data: Option<&'a [u8]>,
}

impl<'a, T: ?Sized> BatchItem<'a, T> {
    /// An item without id or associated data.
    pub fn new(input: &'a T) -> Self {
        Self {
            id: None,
            input,
            associated_data: None,
        }
    }
}

/// What one batch item came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome<T> {
    /// The item's id.
    pub id: String,
    /// Its output, or why this item (alone) failed.
    pub result: std::result::Result<T, cryptoserve_api::ItemError>,
}

/// A ciphertext from a batch encrypt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// `cs1:v<version>:...`
    pub ciphertext: String,
    /// Context key version used.
    pub key_version: u32,
}

fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn decode(text: &str, field: &str, request_id: Option<&str>) -> Result<Vec<u8>> {
    STANDARD
        .decode(text)
        .map_err(|error| Error::InvalidResponse {
            detail: format!("`{field}` is not base64: {error}"),
            request_id: request_id.map(str::to_owned),
        })
}

fn crypto_call(operation: &[&str]) -> Call {
    let mut segments = vec!["api", "v1", "crypto"];
    segments.extend_from_slice(operation);
    Call::new(Method::POST, &segments, Repeat::Safe)
}

fn missing(field: &str, request_id: Option<&str>) -> Error {
    Error::InvalidResponse {
        detail: format!("a batch result has neither `{field}` nor `error`"),
        request_id: request_id.map(str::to_owned),
    }
}

impl Client {
    /// Encrypts `plaintext` under the context's current key version.
    ///
    /// ```no_run
    /// # async fn run(client: cryptoserve_client::Client) -> cryptoserve_client::Result<()> {
    /// let sealed = client.encrypt("payments", b"card 4111").await?;
    /// assert!(sealed.ciphertext.starts_with("cs1:v"));
    /// # Ok(()) }
    /// ```
    pub async fn encrypt(&self, context: &str, plaintext: &[u8]) -> Result<EncryptResponse> {
        self.encrypt_with(context, plaintext, CryptoOptions::default())
            .await
    }

    /// [`Client::encrypt`] with options (associated data).
    pub async fn encrypt_with(
        &self,
        context: &str,
        plaintext: &[u8],
        options: CryptoOptions<'_>,
    ) -> Result<EncryptResponse> {
        let body = EncryptRequest {
            context: context.to_owned(),
            plaintext: encode(plaintext),
            associated_data: options.associated_data.map(encode),
            derivation_context: options.derivation_context.map(encode),
        };
        self.call(crypto_call(&["encrypt"]).json(&body)?).await
    }

    /// Decrypts a `cs1:` (or Transit `vault:`) ciphertext.
    ///
    /// ```no_run
    /// # async fn run(client: cryptoserve_client::Client, ciphertext: String) -> cryptoserve_client::Result<()> {
    /// let plaintext = client.decrypt("payments", &ciphertext).await?;
    /// assert_eq!(plaintext, b"card 4111");
    /// # Ok(()) }
    /// ```
    pub async fn decrypt(&self, context: &str, ciphertext: &str) -> Result<Vec<u8>> {
        self.decrypt_with(context, ciphertext, CryptoOptions::default())
            .await
    }

    /// [`Client::decrypt`] with options (associated data).
    pub async fn decrypt_with(
        &self,
        context: &str,
        ciphertext: &str,
        options: CryptoOptions<'_>,
    ) -> Result<Vec<u8>> {
        let body = DecryptRequest {
            context: context.to_owned(),
            ciphertext: ciphertext.to_owned(),
            associated_data: options.associated_data.map(encode),
            derivation_context: options.derivation_context.map(encode),
        };
        let answer = self.send(&crypto_call(&["decrypt"]).json(&body)?).await?;
        let response: DecryptResponse = answer.decode()?;
        decode(
            &response.plaintext,
            "plaintext",
            answer.request_id.as_deref(),
        )
    }

    /// Re-encrypts a ciphertext under the context's current version; the plaintext never
    /// leaves the server.
    pub async fn rewrap(&self, context: &str, ciphertext: &str) -> Result<RewrapResponse> {
        self.rewrap_with(context, ciphertext, CryptoOptions::default())
            .await
    }

    /// [`Client::rewrap`] with options (the associated data given at encryption).
    pub async fn rewrap_with(
        &self,
        context: &str,
        ciphertext: &str,
        options: CryptoOptions<'_>,
    ) -> Result<RewrapResponse> {
        let body = RewrapRequest {
            context: context.to_owned(),
            ciphertext: ciphertext.to_owned(),
            associated_data: options.associated_data.map(encode),
            derivation_context: options.derivation_context.map(encode),
        };
        self.call(crypto_call(&["rewrap"]).json(&body)?).await
    }

    /// A fresh `bits`-bit data key (128, 256 or 512), wrapped under the context key, with the
    /// key bytes too when `include_plaintext`.
    pub async fn datakey(
        &self,
        context: &str,
        bits: u32,
        include_plaintext: bool,
    ) -> Result<DataKey> {
        self.datakey_with(context, bits, include_plaintext, CryptoOptions::default())
            .await
    }

    /// [`Client::datakey`] with options (the derivation context of a `derived` context;
    /// associated data does not apply to data keys and is ignored).
    pub async fn datakey_with(
        &self,
        context: &str,
        bits: u32,
        include_plaintext: bool,
        options: CryptoOptions<'_>,
    ) -> Result<DataKey> {
        let body = DataKeyRequest {
            context: context.to_owned(),
            bits: Some(bits),
            include_plaintext: Some(include_plaintext),
            derivation_context: options.derivation_context.map(encode),
        };
        let answer = self.send(&crypto_call(&["datakey"]).json(&body)?).await?;
        let response: DataKeyResponse = answer.decode()?;
        let plaintext_key = match &response.plaintext_key {
            Some(text) => Some(Zeroizing::new(decode(
                text,
                "plaintext_key",
                answer.request_id.as_deref(),
            )?)),
            None => None,
        };
        Ok(DataKey {
            wrapped_key: response.wrapped_key,
            plaintext_key,
            key_version: response.key_version,
            bits: response.bits,
        })
    }

    /// Encrypts many items under one context in one request; an item that fails does not
    /// fail the others. A batch costs its item count in rate limits.
    pub async fn batch_encrypt(
        &self,
        context: &str,
        items: &[BatchItem<'_, [u8]>],
    ) -> Result<Vec<BatchOutcome<Sealed>>> {
        let body = BatchRequest {
            context: context.to_owned(),
            items: items
                .iter()
                .map(|item| EncryptItem {
                    id: item.id.map(str::to_owned),
                    plaintext: encode(item.input),
                    associated_data: item.associated_data.map(encode),
                })
                .collect(),
        };
        let answer = self
            .send(&crypto_call(&["batch", "encrypt"]).json(&body)?)
            .await?;
        let request_id = answer.request_id.clone();
        let response: BatchResponse = answer.decode()?;
        response
            .results
            .into_iter()
            .map(|result| {
                outcome(result, |result| {
                    match (result.ciphertext, result.key_version) {
                        (Some(ciphertext), Some(key_version)) => Ok(Sealed {
                            ciphertext,
                            key_version,
                        }),
                        _ => Err(missing("ciphertext", request_id.as_deref())),
                    }
                })
            })
            .collect()
    }

    /// Decrypts many ciphertexts under one context in one request; an item that fails does
    /// not fail the others.
    pub async fn batch_decrypt(
        &self,
        context: &str,
        items: &[BatchItem<'_, str>],
    ) -> Result<Vec<BatchOutcome<Vec<u8>>>> {
        let body = BatchRequest {
            context: context.to_owned(),
            items: items
                .iter()
                .map(|item| DecryptItem {
                    id: item.id.map(str::to_owned),
                    ciphertext: item.input.to_owned(),
                    associated_data: item.associated_data.map(encode),
                })
                .collect(),
        };
        let answer = self
            .send(&crypto_call(&["batch", "decrypt"]).json(&body)?)
            .await?;
        let request_id = answer.request_id.clone();
        let response: BatchResponse = answer.decode()?;
        response
            .results
            .into_iter()
            .map(|result| {
                outcome(result, |result| match result.plaintext {
                    Some(text) => decode(&text, "plaintext", request_id.as_deref()),
                    None => Err(missing("plaintext", request_id.as_deref())),
                })
            })
            .collect()
    }
}

fn outcome<T>(
    mut result: ItemResult,
    output: impl FnOnce(ItemResult) -> Result<T>,
) -> Result<BatchOutcome<T>> {
    let id = std::mem::take(&mut result.id);
    Ok(match result.error.take() {
        Some(error) => BatchOutcome {
            id,
            result: Err(error),
        },
        None => BatchOutcome {
            id,
            result: Ok(output(result)?),
        },
    })
}
