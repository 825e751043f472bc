//! `/` and `/version`: what a person or a health check sees. Bilingual, small, no secrets.

use crate::config::Config;
use crate::flow::Ctx;

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn render(ctx: &Ctx<'_>) -> String {
    let host = escape_html(&ctx.service);
    let registry = escape_html(&ctx.upstream.name);
    let example = if ctx.upstream.is_docker_hub() {
        "library/nginx:latest"
    } else {
        "org/image:tag"
    };
    let whitelist = if ctx.config.whitelist.is_empty() {
        "off / 未启用"
    } else {
        "on / 已启用"
    };
    format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{host} · registry mirror 镜像加速</title></head>
<body>
<h1>{host}</h1>
<p>容器镜像代理：本站代理 <b>{registry}</b>。Registry mirror for <b>{registry}</b>.</p>
<pre>docker pull {host}/{example}</pre>
<p>镜像白名单 / image whitelist: {whitelist}</p>
</body></html>
"#
    )
}

pub fn version_json(config: &Config) -> String {
    let routes: Vec<serde_json::Value> = config
        .routes
        .iter()
        .map(|(h, u)| serde_json::json!({"host": h, "registry": u.name}))
        .collect();
    serde_json::json!({
        "name": env!("CARGO_PKG_NAME"),
        "version": env!("CARGO_PKG_VERSION"),
        "upstream": config.upstream.name,
        "routes": routes,
        "features": {
            "whitelist": !config.whitelist.is_empty(),
            "blob_redirect": match config.blob_redirect {
                crate::config::BlobRedirect::Follow => "follow",
                crate::config::BlobRedirect::Passthrough => "passthrough",
            },
        },
    })
    .to_string()
}
