"""ID numbers at rest: AES-GCM encrypted, with a keyed hash to find one without
decrypting them all. Keys come from the secrets rule of config.py."""

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

# A version prefix lets a later key or algorithm sit beside this one.
FORMAT = "v1"


def _key(name: str) -> bytes:
    # The configured secrets are long random strings; SHA-256 turns one into 32 key bytes.
    return hashlib.sha256(current_app.config[name].encode()).digest()


def encrypt_id_number(number: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key("ELDER_DATA_KEY")).encrypt(nonce, number.encode(), FORMAT.encode())
    return f"{FORMAT}:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt_id_number(stored: str) -> str:
    version, _, payload = stored.partition(":")
    if version != FORMAT:
        raise ValueError(f"unknown ID number format {version!r}")
    raw = base64.urlsafe_b64decode(payload)
    return AESGCM(_key("ELDER_DATA_KEY")).decrypt(raw[:12], raw[12:], FORMAT.encode()).decode()


def id_number_lookup_hash(number: str) -> str:
    return hmac.new(_key("ID_LOOKUP_KEY"), number.encode(), hashlib.sha256).hexdigest()
