//! Crypto calls: bytes in, bytes out.

use cryptoserve_client::api::CreateContext;
use cryptoserve_client::{BatchItem, CryptoOptions, Error};

use crate::support::Server;

#[tokio::test]
async fn encrypt_decrypt_rewrap_and_datakey_round_trip() {
    let server = Server::start().await;
    let client = server.client();
    client
        .create_context(&CreateContext::new("payments"))
        .await
        .unwrap();

    let binary = [0u8, 1, 2, 255, 254, b'\n'];
    let sealed = client.encrypt("payments", &binary).await.unwrap();
    assert!(sealed.ciphertext.starts_with("cs1:v1:"), "{sealed:?}");
    assert_eq!(sealed.key_version, 1);
    assert_eq!(
        client
            .decrypt("payments", &sealed.ciphertext)
            .await
            .unwrap(),
        binary
    );
    assert_eq!(
        client.encrypt("payments", b"").await.unwrap().key_version,
        1
    );

    let aad = CryptoOptions::associated_data(b"order-42");
    let bound = client.encrypt_with("payments", b"card", aad).await.unwrap();
    assert_eq!(
        client
            .decrypt_with("payments", &bound.ciphertext, aad)
            .await
            .unwrap(),
        b"card"
    );
    let wrong = client.decrypt("payments", &bound.ciphertext).await;
    assert!(
        matches!(wrong, Err(Error::DecryptionFailed(_))),
        "{wrong:?}"
    );

    client.rotate_context("payments").await.unwrap();
    let rewrapped = client
        .rewrap_with("payments", &bound.ciphertext, aad)
        .await
        .unwrap();
    assert_eq!(rewrapped.key_version, 2);
    assert!(rewrapped.ciphertext.starts_with("cs1:v2:"));
    assert_eq!(
        client
            .decrypt_with("payments", &rewrapped.ciphertext, aad)
            .await
            .unwrap(),
        b"card"
    );
    let rewrapped_plain = client.rewrap("payments", &sealed.ciphertext).await.unwrap();
    assert_eq!(rewrapped_plain.key_version, 2);

    let key = client.datakey("payments", 512, true).await.unwrap();
    assert_eq!(key.bits, 512);
    let plaintext_key = key.plaintext_key.clone().unwrap();
    assert_eq!(plaintext_key.len(), 64);
    assert_eq!(
        client.decrypt("payments", &key.wrapped_key).await.unwrap(),
        plaintext_key.as_slice()
    );
    assert!(format!("{key:?}").contains("[redacted]"));
    let wrapped_only = client.datakey("payments", 256, false).await.unwrap();
    assert!(wrapped_only.plaintext_key.is_none());
    assert_eq!(wrapped_only.key_version, 2);
}

#[tokio::test]
async fn batches_keep_order_ids_and_per_item_failures() {
    let server = Server::start().await;
    let client = server.client();
    client
        .create_context(&CreateContext::new("batch"))
        .await
        .unwrap();

    let items = [
        BatchItem {
            id: Some("first"),
            ..BatchItem::new(&b"one"[..])
        },
        BatchItem {
            associated_data: Some(b"ad"),
            ..BatchItem::new(&b"two"[..])
        },
    ];
    let sealed = client.batch_encrypt("batch", &items).await.unwrap();
    assert_eq!(sealed.len(), 2);
    assert_eq!(sealed[0].id, "first");
    assert_eq!(sealed[1].id, "1");
    let first = sealed[0].result.as_ref().unwrap().ciphertext.clone();
    let second = sealed[1].result.as_ref().unwrap().ciphertext.clone();

    let to_open = [
        BatchItem::new(first.as_str()),
        BatchItem {
            id: Some("no-ad"),
            ..BatchItem::new(second.as_str())
        },
        BatchItem {
            associated_data: Some(b"ad"),
            ..BatchItem::new(second.as_str())
        },
    ];
    let opened = client.batch_decrypt("batch", &to_open).await.unwrap();
    assert_eq!(opened[0].result.as_deref().unwrap(), b"one");
    assert_eq!(opened[1].id, "no-ad");
    assert_eq!(
        opened[1].result.as_ref().unwrap_err().code,
        "decryption_failed"
    );
    assert_eq!(opened[2].result.as_deref().unwrap(), b"two");
}
