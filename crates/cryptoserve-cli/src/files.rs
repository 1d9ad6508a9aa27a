//! `cs encrypt-file` and `cs decrypt-file`: envelope encryption of files of any size. The
//! server is called once per file (a data key to encrypt, an unwrap to decrypt); the contents
//! stream through [`crate::stream`] on this machine.

use std::time::Instant;

use cryptoserve_client::Client;
use cryptoserve_core::stream::{Decoder, Encoder, FileHeader};
use cryptoserve_core::ContextName;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::cli::{DecryptFileArgs, EncryptFileArgs, Format};
use crate::error::{CliError, Result};
use crate::io::{Sink, Source};
use crate::output;
use crate::progress::Progress;
use crate::stream;

/// Data keys for files are always 256 bits (the format also takes 512; 256 is AES-256's and
/// ChaCha20's key size, and HKDF stretches it for everything else).
const DATA_KEY_BITS: u32 = 256;

/// What `--format json` prints after a file command.
#[derive(Debug, Serialize)]
struct FileSummary<'a> {
    input: &'a str,
    output: &'a str,
    context: &'a str,
    key_version: Option<u32>,
    algorithm: &'a str,
    chunk_size: u32,
    plaintext_bytes: u64,
    seconds: f64,
}

/// `cs encrypt-file`.
pub async fn encrypt_file(client: &Client, format: Format, args: &EncryptFileArgs) -> Result<()> {
    let context = ContextName::parse(&args.context)
        .map_err(|error| CliError::Usage(format!("--context `{}`: {error}", args.context)))?;
    let mut input = Source::open(Some(&args.input))?;
    let mut sink = Sink::create(Some(&args.output))?;
    refuse_json_on_stdout(format, &sink)?;

    let data_key = client
        .datakey(context.as_str(), DATA_KEY_BITS, true)
        .await?;
    let key_bytes = data_key.plaintext_key.as_ref().ok_or_else(|| {
        CliError::Api(cryptoserve_client::Error::InvalidResponse {
            detail: "the data key came without its plaintext".into(),
            request_id: None,
        })
    })?;
    let algorithm = args.algorithm.core();
    let header = FileHeader::new(
        algorithm,
        args.chunk_size,
        &data_key.wrapped_key,
        Some(context.clone()),
    )?;
    let encoder = Encoder::new(key_bytes, &header)?;
    drop(data_key); // zeroizes the key bytes; the encoder holds only derived keys

    let started = Instant::now();
    let progress = Progress::new("encrypting", input.len);
    // Plain blocking I/O on the runtime's only thread: nothing else runs meanwhile.
    let plaintext_bytes = stream::encrypt(encoder, &mut input, &mut sink, &mut |done| {
        progress.set(done)
    })?;
    progress.finish();
    let output_name = sink.name.clone();
    sink.commit()?;
    summary(
        format,
        &FileSummary {
            input: &input.name,
            output: &output_name,
            context: context.as_str(),
            key_version: key_version_of(header.wrapped_key()),
            algorithm: algorithm.name(),
            chunk_size: args.chunk_size.get(),
            plaintext_bytes,
            seconds: started.elapsed().as_secs_f64(),
        },
    )
}

/// `cs decrypt-file`.
pub async fn decrypt_file(client: &Client, format: Format, args: &DecryptFileArgs) -> Result<()> {
    let mut input = Source::open(Some(&args.input))?;
    let header = stream::read_header(&mut input)?;
    let fields = header.header();
    let context = match (&args.context, fields.context()) {
        (Some(context), _) => context.clone(),
        (None, Some(context)) => context.as_str().to_owned(),
        (None, None) => {
            return Err(CliError::Usage(
                "the file does not record its context: pass --context".into(),
            ))
        }
    };
    // Created before the server call so that an unwritable --out fails before anything else.
    let mut sink = Sink::create(Some(&args.output))?;
    refuse_json_on_stdout(format, &sink)?;

    let data_key = Zeroizing::new(
        client
            .decrypt(&context, fields.wrapped_key())
            .await
            .map_err(CliError::UnwrapKey)?,
    );
    let decoder = Decoder::new(&data_key, &header)?;
    drop(data_key);

    let started = Instant::now();
    let progress = Progress::new("decrypting", input.len);
    // Dropping `sink` on failure deletes the temporary file: nothing is left at --out.
    let plaintext_bytes = stream::decrypt(decoder, &mut input, &mut sink, &mut |done| {
        progress.set(done)
    })?;
    progress.finish();
    let output_name = sink.name.clone();
    sink.commit()?;
    summary(
        format,
        &FileSummary {
            input: &input.name,
            output: &output_name,
            context: &context,
            key_version: key_version_of(fields.wrapped_key()),
            algorithm: fields.algorithm().name(),
            chunk_size: fields.chunk_size().get(),
            plaintext_bytes,
            seconds: started.elapsed().as_secs_f64(),
        },
    )
}

/// JSON goes to stdout, so it cannot share stdout with the file's bytes.
fn refuse_json_on_stdout(format: Format, sink: &Sink) -> Result<()> {
    if format == Format::Json && sink.is_stdout() {
        return Err(CliError::Usage(
            "--format json prints a summary on stdout; it cannot be combined with --out -".into(),
        ));
    }
    Ok(())
}

fn summary(format: Format, summary: &FileSummary<'_>) -> Result<()> {
    match format {
        Format::Json => output::json(summary),
        Format::Text => Ok(()),
    }
}

/// The key version in a wrapped key's `cs1:v<N>:` prefix, for the summary.
fn key_version_of(wrapped_key: &str) -> Option<u32> {
    wrapped_key
        .split(':')
        .nth(1)?
        .strip_prefix('v')?
        .parse()
        .ok()
}
