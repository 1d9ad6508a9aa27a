//! Encrypts a line of text and decrypts it again.
//!
//! ```text
//! CRYPTOSERVE_ADDR=http://127.0.0.1:8003 CRYPTOSERVE_TOKEN=$TOKEN \
//!     cargo run -p cryptoserve-client --example encrypt -- payments "card 4111"
//! ```
//!
//! The context must exist (`POST /api/admin/contexts`, or `Client::create_context`).

use cryptoserve_client::{Client, CryptoOptions, Error};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "cryptoserve_client=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let (Some(context), Some(text)) = (args.next(), args.next()) else {
        eprintln!("usage: encrypt <context> <text>");
        std::process::exit(2);
    };

    let client = Client::from_env()?;
    let aad = CryptoOptions::associated_data(b"example");
    let sealed = match client.encrypt_with(&context, text.as_bytes(), aad).await {
        Ok(sealed) => sealed,
        Err(Error::UnknownContext(failure)) => {
            eprintln!(
                "no context `{context}` (request id {:?})",
                failure.request_id
            );
            std::process::exit(1);
        }
        Err(other) => return Err(other.into()),
    };
    println!(
        "{} (key version {}, {})",
        sealed.ciphertext, sealed.key_version, sealed.algorithm
    );
    let plaintext = client
        .decrypt_with(&context, &sealed.ciphertext, aad)
        .await?;
    println!("{}", String::from_utf8_lossy(&plaintext));
    Ok(())
}
