//! `cs encrypt`, `decrypt`, `rewrap` and `datakey`: one server call each, stdin/stdout by
//! default, binary-safe.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use cryptoserve_client::{Client, CryptoOptions};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::cli::{DatakeyArgs, DecryptArgs, EncryptArgs, Format, RewrapArgs};
use crate::error::{CliError, Result};
use crate::io::{write_output, Source};
use crate::output;

fn options<'a>(aad: Option<&'a String>, derivation: Option<&'a String>) -> CryptoOptions<'a> {
    CryptoOptions {
        associated_data: aad.map(|text| text.as_bytes()),
        derivation_context: derivation.map(|text| text.as_bytes()),
    }
}

/// Reads a ciphertext: text, surrounding whitespace (a trailing newline) ignored.
fn read_ciphertext(source: Source) -> Result<String> {
    let name = source.name.clone();
    let bytes = source.read_all()?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| CliError::BadInput(format!("{name} is not a ciphertext: it is not text")))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(CliError::BadInput(format!(
            "{name} is empty: no ciphertext"
        )));
    }
    Ok(text.to_owned())
}

/// `cs encrypt`: prints the ciphertext and a newline, or the JSON answer.
pub async fn encrypt(client: &Client, format: Format, args: &EncryptArgs) -> Result<()> {
    let plaintext = Source::open(args.io.input.as_deref())?.read_all()?;
    let sealed = client
        .encrypt_with(
            &args.context,
            &plaintext,
            options(args.aad.as_ref(), args.derivation_context.as_ref()),
        )
        .await?;
    let text = match format {
        Format::Text => format!("{}\n", sealed.ciphertext),
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&sealed)?),
    };
    write_output(args.io.output.as_deref(), text.as_bytes())
}

/// `cs decrypt`: writes the raw plaintext (no newline added), or `{"plaintext": base64}`.
pub async fn decrypt(client: &Client, format: Format, args: &DecryptArgs) -> Result<()> {
    let ciphertext = read_ciphertext(Source::open(args.io.input.as_deref())?)?;
    let plaintext = Zeroizing::new(
        client
            .decrypt_with(
                &args.context,
                &ciphertext,
                options(args.aad.as_ref(), args.derivation_context.as_ref()),
            )
            .await?,
    );
    match format {
        Format::Text => write_output(args.io.output.as_deref(), &plaintext),
        Format::Json => {
            let encoded = Zeroizing::new(STANDARD.encode(&*plaintext));
            let json = Zeroizing::new(format!(
                "{}\n",
                serde_json::to_string_pretty(&serde_json::json!({ "plaintext": &*encoded }))?
            ));
            write_output(args.io.output.as_deref(), json.as_bytes())
        }
    }
}

/// `cs rewrap`: prints the new ciphertext, or the JSON answer.
pub async fn rewrap(client: &Client, format: Format, args: &RewrapArgs) -> Result<()> {
    let ciphertext = read_ciphertext(Source::open(args.io.input.as_deref())?)?;
    let rewrapped = client
        .rewrap_with(
            &args.context,
            &ciphertext,
            options(args.aad.as_ref(), args.derivation_context.as_ref()),
        )
        .await?;
    let text = match format {
        Format::Text => format!("{}\n", rewrapped.ciphertext),
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&rewrapped)?),
    };
    write_output(args.io.output.as_deref(), text.as_bytes())
}

/// What `cs datakey` prints.
#[derive(Serialize)]
struct DataKeyOutput<'a> {
    wrapped_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    plaintext_key: Option<&'a str>,
    key_version: u32,
    bits: u32,
}

/// `cs datakey`: the wrapped key and (unless `--wrapped-only`) the key bytes in base64.
pub async fn datakey(client: &Client, format: Format, args: &DatakeyArgs) -> Result<()> {
    let options = CryptoOptions {
        associated_data: None,
        derivation_context: args.derivation_context.as_deref().map(str::as_bytes),
    };
    let key = client
        .datakey_with(&args.context, args.bits.get(), !args.wrapped_only, options)
        .await?;
    let encoded = key
        .plaintext_key
        .as_ref()
        .map(|bytes| Zeroizing::new(STANDARD.encode(bytes.as_slice())));
    let shown = DataKeyOutput {
        wrapped_key: &key.wrapped_key,
        plaintext_key: encoded.as_ref().map(|text| text.as_str()),
        key_version: key.key_version,
        bits: key.bits,
    };
    let text = Zeroizing::new(match (format, args.wrapped_only) {
        (Format::Json, _) => format!("{}\n", serde_json::to_string_pretty(&shown)?),
        (Format::Text, true) => format!("{}\n", key.wrapped_key),
        (Format::Text, false) => output::fields(&[
            ("wrapped_key", key.wrapped_key.clone()),
            (
                "plaintext_key",
                shown.plaintext_key.unwrap_or_default().to_owned(),
            ),
            ("key_version", key.key_version.to_string()),
            ("bits", key.bits.to_string()),
        ]),
    });
    write_output(args.output.as_deref(), text.as_bytes())
}
