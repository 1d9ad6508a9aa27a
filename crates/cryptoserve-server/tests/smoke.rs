//! The shortest end-to-end check: start, create a context, encrypt, decrypt.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::Deployment;

#[tokio::test]
async fn encrypt_then_decrypt_round_trips_on_sqlite() {
    let app = Deployment::sqlite().spawn().await;
    let admin = app.admin_token().await;
    app.create_context(&admin, "payments", "aes-256-gcm").await;
    let ciphertext = app.encrypt(&admin, "payments", b"card 4111").await;
    assert!(ciphertext.starts_with("cs1:v1:"));
    assert_eq!(
        app.decrypt(&admin, "payments", &ciphertext).await,
        b"card 4111"
    );
}
