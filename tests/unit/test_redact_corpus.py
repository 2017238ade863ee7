"""A corpus of realistic leaks (issue 11 §2): every secret goes, ordinary log lines stay intact."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import subprocess
import sys
import urllib.parse

import pytest

from bot.text.redact import Redactor

# Every value below is made up; tokens are built by concatenation so secret scanners keep quiet.
HEX64 = hashlib.sha256(b"corpus").hexdigest()
HEX40 = HEX64[:40]
HEX32 = HEX64[:32]
ALNUM = "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC2eF4hJ6kL8nP0rS2uV4xY6zA8cD0fG2iJ4l"  # 64


def b64(text: str) -> str:
    """Standard base64 of ``text``."""
    return base64.b64encode(text.encode()).decode()


def key_lines(count: int, width: int = 64, seed: str = "rsa") -> list[str]:
    """Lines of a made-up private key body, ``width`` characters each."""
    raw = b"".join(hashlib.sha512(f"{seed}{i}".encode()).digest() for i in range(count * 2))
    body = "MIIEowIBAAKCAQEA" + base64.b64encode(raw).decode()
    return [body[i * width : (i + 1) * width] for i in range(count)]


RSA = key_lines(6)
SSH = key_lines(5, 70, "ssh")
LITERALS = ["p&ss<w0rd>'q\"", "s3cr3t/with+plus space", "pässwörd-ünï", 'back\\sla"sh-pw']
AMP, SPACEY, UNI, BACK = LITERALS

# (id, text, what must not survive, what must stay visible ("" for nothing in particular))
Case = tuple[str, str, str | tuple[str, ...], str]
LEAKS: list[Case] = [
    # command-line credentials, as compose substitutes them into health checks and steps
    ("redis-cli-a", "redis-cli -a Zr8dKq2pLw9x ping", "Zr8dKq2pLw9x", "ping"),
    (
        "redis-cli-a-quoted",
        "redis-cli -h redis -a 'r3dis pa55' --no-auth-warning ping | grep PONG",
        ("r3dis", "pa55"),
        "--no-auth-warning ping | grep PONG",
    ),
    ("redis-cli-pass", "valkey-cli --pass Vk-pw-2024 ping", "Vk-pw-2024", "ping"),
    ("rediscli-auth-env", "REDISCLI_AUTH=Rd-env-pw redis-cli ping", "Rd-env-pw", "ping"),
    (
        "mysqladmin-glued-p",
        "mysqladmin ping -h localhost -u root -pM7s3cr3tPw",
        "M7s3cr3tPw",
        "ping -h localhost -u root",
    ),
    (
        "mysql-uroot-p",
        "mysql -uroot -pS3cr3t -e 'SELECT 1'",
        "S3cr3t",
        "SELECT 1",
    ),
    ("mysql-p-quoted", 'mysqladmin -uroot -p"Qu0ted-pw" status', "Qu0ted-pw", "status"),
    ("mariadb-password-eq", "mariadb-admin ping --password=Mdb-pw-42 --silent", "Mdb-pw-42", ""),
    ("curl-u", "curl -fsS -u admin:Adm1nPw! http://localhost:8080/health", "Adm1nPw!", "admin"),
    ("curl-user-eq", "curl --user=backup:Bk-8271-x https://h/api", "Bk-8271-x", "https://h/api"),
    ("curl-user-space", "curl -s --user ops:0ps-s3cr3t localhost/ping", "0ps-s3cr3t", "ping"),
    ("wget-password", "wget -q --password h4ck-me-9 -O- http://web/", "h4ck-me-9", "http://web/"),
    (
        "x-password-eq",
        "backup.sh --smtp-password=Smtp!pw1 --to ops@example.org",
        "Smtp!pw1",
        "ops@example.org",
    ),
    ("db-password-space", "app migrate --db-password Db-pw-3 --yes", "Db-pw-3", "--yes"),
    ("api-key-option", "uptime-probe --api-key=ak-91823 --url http://x/", "ak-91823", "--url"),
    (
        "redis-requirepass",
        "redis-server --requirepass Rq-pw-99 --appendonly yes",
        "Rq-pw-99",
        "--appendonly yes",
    ),
    ("joined-option", "seafile-admin --adminPassword Adm-99-pw", "Adm-99-pw", "seafile-admin"),
    ("token-option", "cloudflared tunnel run --token Cf-tun-tok-77", "Cf-tun-tok-77", "run"),
    (
        "docker-e-password",
        "docker run --rm -e POSTGRES_PASSWORD=pgpw1 postgres:16",
        "pgpw1",
        "postgres:16",
    ),
    ("docker-e-token", "docker run -e GITEA__security__INTERNAL_TOKEN=gt0k3n gitea", "gt0k3n", ""),
    (
        "pgpassword",
        "PGPASSWORD=pg-S3cret psql -h db -U app -c 'select 1'",
        "pg-S3cret",
        "psql -h db -U app",
    ),
    ("mongosh-p", "mongosh --quiet -u root -p M0ngoPw --eval 'db.ping'", "M0ngoPw", "--eval"),
    ("sshpass", "sshpass -p Ssh-pw-77 ssh backup@nas", "Ssh-pw-77", "ssh backup@nas"),
    ("ldap-w", "ldapsearch -x -D cn=admin,dc=ex -w Ld4pPw -b dc=ex", "Ld4pPw", "-b dc=ex"),
    ("mosquitto-P", "mosquitto_sub -u bot -P Mqtt-pw-1 -t 'health/#'", "Mqtt-pw-1", "-t"),
    ("docker-login-p", "docker login -u ci -p Reg-pw-123 registry.example.org", "Reg-pw-123", ""),
    ("keytool-storepass", "keytool -list -keystore ks.jks -storepass St0rePw", "St0rePw", ""),
    ("openssl-passin", "openssl pkcs12 -in a.p12 -passin pass:P12-Pass -nokeys", "P12-Pass", ""),
    # a value on the line after its key
    (
        "yaml-next-line",
        "smtp:\n  password:\n    Sm7p-next-line\n  port: 587",
        "Sm7p-next-line",
        "port: 587",
    ),
    ("yaml-block-scalar", "oidc:\n  client_secret: |\n    a8f9e-Bl0ck-s3cret\n", "a8f9e-Bl0ck", ""),
    ("yaml-folded", "  api_token: >-\n    tok-f0lded-value\n  debug: true", "tok-f0lded", "debug"),
    ("env-continuation", "export DB_PASSWORD=\\\n  'c0nt1nued-pw'\n", "c0nt1nued-pw", ""),
    ("dotenv-multiline", 'JWT_SECRET="\nmult1line-jwt-secret\n"\nPORT=80', "mult1line", "PORT=80"),
    # URL credentials, webhooks, presigned URLs
    ("url-slash-in-password", "postgres://app:ab/cd+ef@db:5432/app", "ab/cd+ef", "db:5432/app"),
    ("url-slash-and-at", "mongodb://root:p/w@ss@mongo:27017/?authSource=admin", "p/w@ss", "mongo"),
    ("url-amqp", "amqp://guest:gu/est-pw@rabbit:5672/", ("gu/est", "est-pw"), "rabbit:5672"),
    ("url-in-healthcheck", "curl -f http://admin:x/y/z@localhost/health", "x/y/z", "localhost"),
    (
        "slack-webhook",
        "posting to https://hooks.slack.com/services/T0123ABCD/B0456EFGH/" + ALNUM[:24],
        ALNUM[:24],
        "hooks.slack.com",
    ),
    (
        "discord-webhook",
        "POST https://discord.com/api/webhooks/1234567890123456789/" + ALNUM + "-_x 204",
        ALNUM,
        "204",
    ),
    (
        "discordapp-webhook",
        "webhook_url = https://discordapp.com/api/webhooks/987654321098765432/" + ALNUM[:60],
        ALNUM[:60],
        "",
    ),
    (
        "teams-webhook",
        "https://acme.webhook.office.com/webhookb2/"
        "0f8fad5b-d9cb-469f-a165-70867728950e@0f8fad5b-d9cb-469f-a165-70867728950e"
        "/IncomingWebhook/" + HEX32 + "/0f8fad5b-d9cb-469f-a165-70867728950e",
        HEX32,
        "",
    ),
    (
        "aws-presigned",
        "GET https://b.s3.amazonaws.com/a.tar?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential="
        + "AKIA"
        + "IOSFODNN7EXAMPLE%2F20240501%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20240501T120000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=" + HEX64 + " 200",
        (HEX64, "IOSFODNN7EXAMPLE"),
        "X-Amz-Expires=3600",
    ),
    (
        "aws-session-token",
        "?X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr" + ALNUM + "&X-Amz-Date=20240501T120000Z",
        ALNUM,
        "X-Amz-Date",
    ),
    (
        "gcs-signed",
        "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature="
        + HEX64 * 2,
        HEX64,
        "storage.googleapis.com",
    ),
    (
        "azure-sas",
        "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&se=2024-05-02T00%3A00%3A00Z"
        "&sr=b&sp=r&sig=" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9%2Bb%3D",
        "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9",
        "sv=2022-11-02",
    ),
    # vendor tokens by their documented prefixes
    ("stripe-sk-live", "stripe: using " + "sk_" + "live_" + ALNUM[:24], ALNUM[:24], "stripe"),
    ("stripe-rk-live", "STRIPE_KEY " + "rk_" + "live_" + ALNUM[:40], ALNUM[:40], ""),
    ("stripe-sk-test", "key=" + "sk_" + "test_" + ALNUM[:30], ALNUM[:30], ""),
    ("stripe-webhook", "endpoint secret " + "whsec_" + ALNUM[:32], ALNUM[:32], ""),
    (
        "google-api-key",
        "maps request key " + "AIza" + "SyA-" + ALNUM[:31] + " failed",
        ALNUM[:31],
        "failed",
    ),
    ("openai-proj", "OpenAI " + "sk-" + "proj-" + ALNUM + ALNUM[:20] + "_-x", ALNUM, "OpenAI"),
    (
        "openai-legacy",
        "openai " + "sk-" + ALNUM[:20] + "T3Blbk" + "FJ" + ALNUM[20:40],
        ALNUM[:20],
        "",
    ),
    ("anthropic", "x-api-key: " + "sk-" + "ant-api03-" + ALNUM + ALNUM[:29] + "AA", ALNUM, ""),
    ("huggingface", "hub login " + "hf_" + ALNUM[:34] + " ok", ALNUM[:34], "ok"),
    ("npm", "//registry.npmjs.org/:_authToken=" + "npm_" + ALNUM[:36], ALNUM[:36], "registry"),
    ("pypi", "twine upload -p " + "pypi-" + "AgEIcHlwaS5vcmc" + ALNUM, ALNUM, "twine upload"),
    (
        "telegram-url",
        "POST https://api.telegram.org/bot" + "123456789:" + "AAH" + ALNUM[:32] + "/sendMessage",
        ALNUM[:32],
        "sendMessage",
    ),
    ("telegram-bare", "bot token 987654321:" + "AAE" + ALNUM[10:42] + " ok", ALNUM[10:42], "ok"),
    ("sendgrid", "SG." + ALNUM[:22] + "." + ALNUM[:43], (ALNUM[:22], ALNUM[:43]), ""),
    ("twilio-api-key", "twilio sid " + "SK" + HEX32, HEX32, "twilio"),
    ("mailgun", "MAILGUN " + "key-" + HEX32, HEX32, ""),
    ("digitalocean", "doctl auth init -t " + "dop_" + "v1_" + HEX64, HEX64, "doctl"),
    ("shopify", "shop token " + "shpat_" + HEX32, HEX32, ""),
    ("vault", "VAULT " + "hvs." + ALNUM[:24] + ALNUM, ALNUM, ""),
    (
        "age",
        "AGE-SECRET-KEY-" + "1QQPZRY9X8GF2TVDW0S3JN54KHCE6MUA7LQQPZRY9X8GF2TVDW0S3JN54KHC",
        "1QQPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",
        "",
    ),
    ("grafana-sa", "glsa_" + ALNUM[:32] + "_" + HEX64[:8], ALNUM[:32], ""),
    ("sentry", "SENTRY_AUTH " + "sntryu_" + HEX64, HEX64, ""),
    (
        "tailscale",
        "tailscale up --auth" + "key=tskey-" + "auth-k1234CNTRL-" + ALNUM[:30],
        ALNUM[:30],
        "tailscale up",
    ),
    ("linear", "lin_" + "api_" + ALNUM[:40], ALNUM[:40], ""),
    ("databricks", "host dbc-1 token " + "dapi" + HEX32, HEX32, ""),
    ("slack-app", "xapp-" + "1-A0123ABCD-1234567890123-" + HEX64, HEX64, ""),
    # base64 user:pass
    (
        "basic-no-header",
        "upstream auth Basic " + b64("admin:s3cr3tPass"),
        b64("admin:s3cr3tPass"),
        "upstream",
    ),
    (
        "docker-config-auths",
        '{"auths": {"registry.example.org": {"auth": "' + b64("ci:Reg-pw-123") + '"}}}',
        b64("ci:Reg-pw-123"),
        "registry.example.org",
    ),
    (
        "bare-base64-userpass",
        "echo " + b64("deploy:Dpl-2024-pw") + " | base64 -d",
        b64("deploy:Dpl-2024-pw"),
        "base64 -d",
    ),
    ("npmrc-auth", "_auth = " + b64("npmuser:npm-pw-1"), b64("npmuser:npm-pw-1"), "_auth"),
    # a private key body whose BEGIN line is outside the window shown
    (
        "key-tail-with-end",
        "\n".join(RSA[2:]) + "\nXyZ0AbC1dE2=\n-----END RSA PRIVATE KEY-----\nnginx started",
        tuple(RSA[2:]),
        "nginx started",
    ),
    ("key-body-no-end", "\n".join(RSA) + "\n", tuple(RSA), ""),
    ("openssh-tail", "\n".join(SSH) + "\n-----END OPENSSH PRIVATE KEY-----", tuple(SSH), ""),
    (
        "key-tail-json-escaped",
        '{"key": "' + "\\n".join(RSA[3:]) + '\\n-----END PRIVATE KEY-----\\n"}',
        tuple(RSA[3:]),
        '{"key": "',
    ),
    (
        "key-tail-indented",
        "tls:\n  key: |\n" + "".join(f"    {line}\n" for line in RSA[1:]),
        tuple(RSA[1:]),
        "tls:",
    ),
    # configured literal secrets in encoded form
    ("literal-plain", f"login with {AMP} ok", AMP, "ok"),
    ("literal-html", f"<p>pw {html.escape(AMP)}</p>", html.escape(AMP), "<p>pw "),
    ("literal-html-noquote", f"<p>{html.escape(AMP, quote=False)}</p>", "p&amp;ss&lt;w0rd&gt;", ""),
    ("literal-url", "?pw=" + urllib.parse.quote(SPACEY, safe=""), "s3cr3t%2Fwith", ""),
    (
        "literal-url-plus",
        "pw=" + urllib.parse.quote_plus(SPACEY) + "&x=1",
        "with%2Bplus+space",
        "&x=1",
    ),
    ("literal-url-lowercase", "pw=s3cr3t%2fwith%2bplus%20space", "s3cr3t%2fwith", ""),
    ("literal-url-unicode", "u=" + urllib.parse.quote(UNI), urllib.parse.quote(UNI), "u="),
    ("literal-json", json.dumps({"pw": BACK}), json.dumps(BACK)[1:-1], '{"pw": "'),
    ("literal-json-slash", '{"pw": "s3cr3t\\/with+plus space"}', "s3cr3t\\/with", ""),
    ("literal-json-ascii", json.dumps({"pw": UNI}), json.dumps(UNI)[1:-1], ""),
    ("literal-json-go", '{"Env":["PW=p\\u0026ss\\u003cw0rd\\u003e\'q\\""]}', "p\\u0026ss", "Env"),
    ("literal-json-of-html", json.dumps(html.escape(AMP)), "p&amp;ss", ""),
]

HEALTHY_CERT = (
    "-----BEGIN CERTIFICATE-----\n" + "\n".join(key_lines(5, seed="cert")) + "\nQUJD\n"
    "-----END CERTIFICATE-----"
)
ORDINARY = [
    "GET /api/v1/users 200 12ms",
    '172.18.0.5 - - [01/May/2024:12:00:00 +0000] "GET /api/v1/users?page=2 HTTP/1.1" 200 512',
    "nginx/1.25.3 (Ubuntu) version 2.4.1-beta+build.5",
    "commit 3f2c1e9a7b6d5c4e3f2a1b0c9d8e7f6a5b4c3d2e (HEAD -> main)",
    "request 123e4567-e89b-12d3-a456-426614174000 finished in 3.2s",
    "2024-05-01T12:00:00.123456789Z INFO started at 12:00:01",
    "image sha256:" + HEX64 + " pulled",
    "nginx:1.25-alpine@sha256:" + HEX64,
    "pg_isready -h localhost -p 5432 -U postgres",
    "wget -q -p --spider http://localhost:8080/",
    "docker run -u 1000:1000 -p 8080:80 nginx",
    "curl -fsS http://localhost:8080/health || exit 1",
    "redis-cli ping",
    "mysqladmin ping -h localhost",
    "mysql -u root -p",
    "healthcheck.sh --connect --innodb_initialized",
    "echo $X | docker login --password-stdin -u ci registry.example.org",
    "http://synapse:8008/_matrix/client/v3/profile/@bob:example.org/displayname",
    "https://example.org:8443/users/@alice:example.org",
    '{"url": "http://minio:9000", "email": "ops@example.org"}',
    "postgres://db:5432/synapse",
    "data: " + b64("Hello World, no credentials"),
    "Basic authentication enabled for /admin",
    "secrets:\n  - db_password\n  - jwt_secret",
    "password:\n  file: /run/secrets/db_password",
    "Listening on 0.0.0.0:8080 and [::]:8080",
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
    "event $Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC2eF4hJ6kL8nP0r:example.org in !room:example.org",
    "pip install scikit-learn==1.4.2",
    "llm --max-tokens 4096 --bypass-cache --secrets-dir /run/secrets",
    "\n".join([HEX64] * 4),
    HEALTHY_CERT,
    "sha256 checksums:\n" + "\n".join(f"{HEX64}  file{i}.tar" for i in range(3)),
    "worker-3 | ok\nworker-4 | ok",
    "POSTGRES_PASSWORD_FILE=/run/secrets/db_password",
    "app --password-file=/run/secrets/pw --token-file /run/secrets/token",
    "took 12:34:56.789 for 123456789 rows",
]


def secrets_of(case: Case) -> tuple[str, ...]:
    """The fragments of a case that must not survive."""
    secret = case[2]
    return (secret,) if isinstance(secret, str) else secret


redact = Redactor(LITERALS)


@pytest.mark.parametrize("case", LEAKS, ids=[c[0] for c in LEAKS])
def test_secret_is_redacted(case: Case) -> None:
    _, text, _, keep = case
    out = redact(text)
    for secret in secrets_of(case):
        assert secret not in out, out
    assert "[REDACTED:" in out
    assert keep in out, out


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_log_lines_stay(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize("text", [c[1] for c in LEAKS] + ORDINARY)
def test_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


def test_corpus_is_big_enough() -> None:
    assert len(LEAKS) >= 60 and len(ORDINARY) >= 30
    assert len({c[0] for c in LEAKS}) == len(LEAKS)


PATHOLOGICAL = """
import sys
from bot.text.redact import Redactor
from bot.text.redact_argv import redact_shell

MB = 1_000_000
texts = [
    "redis-cli " * (MB // 10),
    "curl -fsu " * (MB // 10),
    "mysql " + "a" * MB + " -pX",
    "--password " * (MB // 11),
    "A" * MB + "_PASSWORD=x",
    "password:\\n " * (MB // 11),
    "QUJDRA== " * (MB // 9),
    ("A" * 64 + "\\n") * (MB // 65),
    ("A" * 64 + "\\\\n") * (MB // 66),
    "http://u:" + "x@" * MB,
    "ab://c:" * (MB // 7),
    "sk-" * (MB // 3),
    "1234567:AA" * (MB // 10),
    'password="' + "\\\\" * MB,
    "token key pass secret " * (MB // 22),
]
redact = Redactor(["opsbot-pass", "p&ss<w0rd>"])
for text in texts:
    redact(text)
redact_shell('"' + "a" * MB)
print("finished", len(texts))
"""


def test_pathological_megabytes_finish() -> None:
    """Every pattern is bounded: megabytes built to make regexes backtrack are done in seconds
    (the timeout is generous on purpose: this guards against minutes, not milliseconds)."""
    done = subprocess.run(
        [sys.executable, "-c", PATHOLOGICAL],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["finished", "15"]


def test_hundreds_of_literals_long_and_nested() -> None:
    """Env files can bring hundreds of values: one long, some prefixes of others, all found."""
    values = [f"env-value-{i:03d}-{HEX32}" for i in range(300)]
    values += ["k" * 5000, "nested-pw", "nested-pw-longer", "nested-pw-longer-still"]
    redact = Redactor(values)
    text = " | ".join([*values, "nested-pw-long"]) + " | end"
    out = redact(text)
    assert out.count("[REDACTED:literal]") == len(values) + 1 and out.endswith(" | end")
    assert "nested-pw-long |" not in out and "[REDACTED:literal]-long |" in out
