"""Tokens that vendors mark with a documented prefix (after gitleaks' rule set), as one pattern."""

from __future__ import annotations

import re

__all__ = ["VENDOR_KINDS", "VENDOR_PATTERN", "VENDOR_TRIGGERS"]

# (kind, pattern, lowercase literals that every match starts with). Each pattern brings its own
# leading boundary; every repetition is bounded, so a failed attempt costs a few hundred steps.
_TOKENS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # synapse syt_/syr_ and matrix-authentication-service mat_/mar_/mct_/mcr_ tokens
    (
        "matrix-token",
        r"\b(?:sy[tr]_[A-Za-z0-9+/=-]{1,400}_[A-Za-z0-9]{20}_[A-Za-z0-9]{6}"
        r"|m(?:at|ar|ct|cr)_[A-Za-z0-9]{30}_[A-Za-z0-9]{6})\b",
        ("syt_", "syr_", "mat_", "mar_", "mct_", "mcr_"),
    ),
    (
        "github-token",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_\w{82,251})\b",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    (
        "gitlab-pat",
        r"\bgl(?:pat|ptt|dt|rt|ft|cbt|imt|soat)-[\w.-]{20,255}",
        ("glpat-", "glptt-", "gldt-", "glrt-", "glft-", "glcbt-", "glimt-", "glsoat-"),
    ),
    (
        "slack-token",
        r"\b(?:xox[abeoprs]-[0-9A-Za-z-]{10,255}|xapp-\d-[0-9A-Za-z-]{10,255})",
        ("xox", "xapp-"),
    ),
    (
        "aws-akid",
        r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b",
        ("a3t", "akia", "asia", "abia", "acca"),
    ),
    (
        "stripe-key",
        r"\b(?:[rs]k_(?:live|test|prod)_[A-Za-z0-9]{10,247}|whsec_[A-Za-z0-9+/=]{24,100})",
        ("sk_live_", "sk_test_", "sk_prod_", "rk_live_", "rk_test_", "rk_prod_", "whsec_"),
    ),
    ("google-api-key", r"\bAIza[\w-]{35}(?![\w-])", ("aiza",)),
    ("anthropic-key", r"\bsk-ant-[a-z]{2,8}\d\d-[\w-]{20,300}", ("sk-ant-",)),
    (
        "openai-key",
        r"\bsk-(?:(?:proj|svcacct|admin)-[\w-]{20,300}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}\b)",
        ("sk-",),
    ),
    ("huggingface-token", r"\b(?:hf_|api_org_)[A-Za-z0-9]{30,40}\b", ("hf_", "api_org_")),
    ("npm-token", r"\bnpm_[A-Za-z0-9]{36}\b", ("npm_",)),
    ("pypi-token", r"\bpypi-AgEIcHlwaS5vcmc[\w-]{50,1000}", ("pypi-agei",)),
    ("sendgrid-key", r"\bSG\.[\w-]{22}\.[\w-]{43}\b", ("sg.",)),
    ("mailgun-key", r"(?<![\w-])key-[0-9a-f]{32}\b", ("key-",)),
    ("digitalocean-token", r"\bdo[por]_v1_[a-f0-9]{64}\b", ("dop_v1_", "doo_v1_", "dor_v1_")),
    (
        "shopify-token",
        r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b",
        ("shpat_", "shpca_", "shppa_", "shpss_"),
    ),
    ("vault-token", r"\bhv[sb]\.[\w-]{24,300}", ("hvs.", "hvb.")),
    ("age-key", r"\bAGE-SECRET-KEY-1[0-9A-Z]{50,70}\b", ("age-secret-key-",)),
    (
        "grafana-token",
        r"\b(?:glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}\b|glc_[A-Za-z0-9+/]{32,400}={0,3})",
        ("glsa_", "glc_"),
    ),
    ("sentry-token", r"\bsntry[su]_[A-Za-z0-9+/=_]{40,400}", ("sntrys_", "sntryu_")),
    ("tailscale-key", r"\btskey-[a-z]{3,8}-[\w-]{10,200}", ("tskey-",)),
    ("linear-key", r"\blin_(?:api|oauth)_[A-Za-z0-9]{40}\b", ("lin_api_", "lin_oauth_")),
    ("databricks-token", r"\bdapi[a-f0-9]{32}(?:-\d)?\b", ("dapi",)),
    ("doppler-token", r"\bdp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}\b", ("dp.",)),
    ("pulumi-token", r"\bpul-[a-f0-9]{40}\b", ("pul-",)),
    ("postman-key", r"\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b", ("pmak-",)),
    ("heroku-key", r"\bHRKU-AA[\w-]{58}", ("hrku-",)),
    ("planetscale-token", r"\bpscale_(?:tkn|pw|oauth)_[\w=.-]{32,64}", ("pscale_",)),
    ("newrelic-key", r"\bNRAK-[A-Z0-9]{27}\b", ("nrak-",)),
    ("brevo-key", r"\bxkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}\b", ("xkeysib-",)),
    ("onepassword-token", r"\bops_eyJ[A-Za-z0-9+/]{250,4000}={0,3}", ("ops_eyj",)),
)

VENDOR_KINDS: dict[str, str] = {f"t{i}": kind for i, (kind, _, _) in enumerate(_TOKENS)}
"""The kind of each alternative, by the name of its group (``match.lastgroup``)."""
VENDOR_PATTERN = re.compile(
    "|".join(f"(?P<t{i}>{pattern})" for i, (_, pattern, _) in enumerate(_TOKENS))
)
VENDOR_TRIGGERS: tuple[str, ...] = tuple(sorted({t for _, _, ts in _TOKENS for t in ts}))
