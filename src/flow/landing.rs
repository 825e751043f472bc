//! `/` and `/version`: what a person or a health check sees. The page is for the host being
//! visited: ready-to-copy client config for every registry this mirror serves, in Chinese and
//! English. It says whether a whitelist, login or cache is active, never what the patterns,
//! users or secrets are. Everything from the request (the Host header) is HTML-escaped.

use super::context::Ctx;
use super::state::State;
use crate::config::{BlobRedirect, Config};
use crate::upstream::Upstream;
use crate::url::strip_port;

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One registry this mirror serves, and where clients point for it.
struct Served<'a> {
    upstream: &'a Upstream,
    /// `host[:port]` clients point at: the visited host.
    host: &'a str,
    /// Reached by path on that host (`host/ghcr.io/...`): every registry but the host's own.
    by_path: bool,
    /// Its own ROUTES host (with the visited port), if it has one.
    route_host: Option<String>,
}

fn served<'a>(ctx: &'a Ctx<'_>) -> Vec<Served<'a>> {
    // `:port` of the visited host, or nothing: route hosts are reached on the same port.
    let port = &ctx.service[strip_port(&ctx.service).len()..];
    let route_host = |u: &Upstream| {
        ctx.config
            .routes
            .iter()
            .find(|(_, r)| r.name == u.name)
            .map(|(h, _)| format!("{h}{port}"))
    };
    // The visited host's own registry first, then every other one by path.
    let mut out = vec![Served {
        upstream: ctx.upstream,
        host: &ctx.service,
        by_path: false,
        route_host: None,
    }];
    for upstream in ctx.config.served() {
        if out.iter().all(|s| s.upstream.name != upstream.name) {
            out.push(Served {
                upstream,
                host: &ctx.service,
                by_path: true,
                route_host: route_host(upstream),
            });
        }
    }
    out
}

fn snippet(kind: &str, registry: &str, title: &str, body: &str) -> String {
    format!(
        "<h3>{title}</h3>\n<pre data-snippet=\"{kind}\" data-registry=\"{}\">{}</pre>\n",
        escape_html(registry),
        escape_html(body)
    )
}

/// Mirror mode with a user whitelist: docker sends the credentials it holds for Docker Hub, and
/// `docker login` would need Docker Hub itself. The page writes that entry in the browser; the
/// password never leaves it.
const MIRROR_LOGIN: &str = r#"<h3>镜像加速模式登录 / login in mirror mode</h3>
<p>作为 registry-mirrors 使用时，docker 把它为 Docker Hub 保存的凭据发给本站，而 <code>docker login</code> 需要直连 Docker Hub。
填入你的账号和密码（只在本页面内计算，不会发送），把生成的 <code>auths</code> 合并进 <code>~/.docker/config.json</code>
（以 root 运行 docker 时为 <code>/root/.docker/config.json</code>）。<br>
As a registry mirror, docker sends this site the credentials it holds for Docker Hub, and <code>docker login</code> would
need to reach Docker Hub itself. Type your account and password (computed in this page only, never sent) and merge the
generated <code>auths</code> into <code>~/.docker/config.json</code>.</p>
<p><input id="auth-user" autocomplete="username" placeholder="用户名 / user">
<input id="auth-pass" type="password" autocomplete="current-password" placeholder="密码 / password">
<button type="button" id="auth-make">生成 / generate</button></p>
<pre id="auth-out" data-snippet="docker-config-auths"></pre>
<script>document.getElementById("auth-make").onclick=function(){
var u=document.getElementById("auth-user").value,p=document.getElementById("auth-pass").value;
var a=btoa(String.fromCharCode.apply(null,new TextEncoder().encode(u+":"+p)));
document.getElementById("auth-out").textContent=JSON.stringify({auths:{"https://index.docker.io/v1/":{auth:a}}},null,2);};</script>
"#;

/// Why a mirror-mode pull fails with a Docker Hub error: docker tries the mirror, then Docker Hub.
const MIRROR_FALLBACK: &str = "<p>注意：镜像加速模式下本站拒绝的拉取（不在白名单、未登录），docker 会改去 Docker Hub 并只报告那边的错误（例如 registry-1.docker.io 的 DNS 错误）。想看到真正原因，请用本站域名拉取：<code>docker pull 本站域名/镜像</code>。<br>Note: when this mirror refuses a pull (not whitelisted, not logged in), docker falls back to Docker Hub and reports only that error (e.g. a DNS error for registry-1.docker.io). Pull by this site's name to see the reason.</p>\n";

fn registry_section(s: &Served<'_>, scheme: &str, login: bool) -> String {
    let name = &s.upstream.name;
    let host = s.host;
    // Where this registry's repositories are on this mirror: `host` or `host/ghcr.io`.
    let prefix = if s.by_path {
        format!("{host}/{name}")
    } else {
        host.to_owned()
    };
    let example = if s.upstream.is_docker_hub() {
        "library/nginx:latest"
    } else {
        "org/image:tag"
    };
    let insecure = if scheme == "http" {
        "\ninsecure = true"
    } else {
        ""
    };
    let mut html = format!("<section>\n<h2>{}</h2>\n", escape_html(name));
    html += &snippet(
        "docker-pull",
        name,
        "docker pull",
        &format!("docker pull {prefix}/{example}"),
    );
    if let Some(own) = &s.route_host {
        html += &format!(
            "<p>也可用它的专用域名 / or its own host: <code>{}</code></p>\n",
            escape_html(own)
        );
    }
    if s.upstream.is_docker_hub() && !s.by_path {
        html += &snippet(
            "daemon.json",
            name,
            "/etc/docker/daemon.json（Docker 镜像加速 / registry mirror）",
            &format!("{{\n  \"registry-mirrors\": [\"{scheme}://{host}\"]\n}}\n"),
        );
        html += MIRROR_FALLBACK;
        if login {
            html += MIRROR_LOGIN;
        }
    }
    html += &kubernetes_snippets(s, scheme);
    html += &snippet(
        "registries.conf",
        name,
        "/etc/containers/registries.conf（podman, CRI-O）",
        &format!(
            "[[registry]]\nprefix = \"{name}\"\nlocation = \"{name}\"\n\n[[registry.mirror]]\nlocation = \"{prefix}\"{insecure}\n"
        ),
    );
    html + "</section>\n"
}

/// Search (`/v1/search`, Docker Hub, whitelisted results only) and a repository's tags
/// (`/token`, then `tags/list`), asked by the page itself with the endpoints clients use; a copy
/// button on every snippet. Everything an answer holds goes in as text, never as HTML.
const FIND_AND_COPY: &str = r#"<section id="find">
<h2>搜索镜像与标签 / Search images and tags</h2>
<form id="search-form"><input id="search-q" placeholder="nginx" required>
<button>搜索 Docker Hub / search Docker Hub</button></form>
<ul id="search-out"></ul>
<form id="tags-form"><input id="tags-name" placeholder="library/nginx, ghcr.io/org/app" required>
<button>列出标签 / list tags</button></form>
<ul id="tags-out"></ul>
</section>
<section id="archive">
<h2>离线镜像包 / Offline image archive</h2>
<p>下载一个可用 <code>docker load -i</code>、<code>podman load -i</code>、<code>ctr images import</code> 导入的 tar 包，用于无法配置镜像加速的机器。
最多 12 层；在 ESA 上一次下载最长 120 秒：按 2–10 MB/s 约能下载 240 MB–1.2 GB。<br>
A tar for machines that cannot use a mirror: <code>docker load -i</code>, <code>podman load -i</code>, <code>ctr images import</code>.
At most 12 layers; on ESA a download may last 120 s: at 2–10 MB/s, 240 MB–1.2 GB.</p>
<form id="archive-form"><input id="archive-image" placeholder="library/nginx, ghcr.io/org/app" required>
<input id="archive-tag" placeholder="latest" size="10">
<select id="archive-platform"><option>linux/amd64</option><option>linux/arm64</option><option>linux/arm/v7</option>
<option>linux/386</option><option>linux/ppc64le</option><option>linux/s390x</option></select>
<button>生成下载链接 / make the link</button></form>
<p><a id="archive-link" download></a></p>
</section>
<script>(function(){
var d=document,host=location.host;
function el(t,x){var e=d.createElement(t);if(x!=null)e.textContent=x;return e}
function copy(text,b){var done=function(){b.textContent="已复制 / copied"};
if(navigator.clipboard){navigator.clipboard.writeText(text).then(done,function(){})}}
function copyButton(text){var b=el("button","复制 / copy");b.type="button";b.className="copy";
b.onclick=function(){copy(typeof text=="function"?text():text,b)};return b}
d.querySelectorAll("pre[data-snippet]").forEach(function(p){p.parentNode.insertBefore(copyButton(function(){return p.textContent}),p)});
async function json(url,opts){var r=await fetch(url,opts),j=null;try{j=await r.json()}catch(e){}
if(!r.ok)throw new Error(j&&j.errors&&j.errors[0]?j.errors[0].message:"HTTP "+r.status);return j}
function failed(out,e){out.append(el("li","错误 / error: "+e.message))}
var q=d.getElementById("search-q"),so=d.getElementById("search-out"),
tn=d.getElementById("tags-name"),to=d.getElementById("tags-out");
d.getElementById("search-form").onsubmit=async function(ev){ev.preventDefault();so.textContent="";
try{var j=await json("/v1/search?n=25&q="+encodeURIComponent(q.value.trim()));
if(!j.results.length)so.append(el("li","没有白名单内的结果 / nothing the whitelist admits"));
j.results.forEach(function(x){var li=el("li"),b=el("button","标签 / tags");b.type="button";
b.onclick=function(){tn.value=x.name;tags()};li.dataset.name=x.name;
li.append(el("code",x.name)," ★"+x.star_count+(x.is_official?" official":"")+" "+(x.description||"")+" ",b);so.append(li)})}
catch(e){failed(so,e)}};
async function tags(){var n=tn.value.trim();to.textContent="";
try{var t=await json("/token?service="+encodeURIComponent(host)+"&scope="+encodeURIComponent("repository:"+n+":pull"));
var j=await json("/v2/"+n+"/tags/list?n=100",{headers:{authorization:"Bearer "+(t.token||t.access_token)}});
if(!(j.tags||[]).length)to.append(el("li","没有标签 / no tags"));
(j.tags||[]).forEach(function(tag){var c="docker pull "+host+"/"+n+":"+tag,li=el("li");li.dataset.tag=tag;
li.append(el("code",c)," ",copyButton(c));to.append(li)})}catch(e){failed(to,e)}}
d.getElementById("tags-form").onsubmit=function(ev){ev.preventDefault();tags()};
d.getElementById("archive-form").onsubmit=function(ev){ev.preventDefault();
var i=d.getElementById("archive-image").value.trim(),t=d.getElementById("archive-tag").value.trim()||"latest",
a=d.getElementById("archive-link");
a.href="/archive/"+i+(t.indexOf("sha256:")==0?"@":":")+t+"?platform="+d.getElementById("archive-platform").value;
a.textContent="下载 / download "+i+":"+t};
})();</script>
"#;

/// containerd's `hosts.toml` and k3s/RKE2's `registries.yaml` for one registry.
fn kubernetes_snippets(s: &Served<'_>, scheme: &str) -> String {
    let (name, host) = (&s.upstream.name, s.host);
    let mut html = String::new();
    // containerd: a mirror with a path takes it as the API root (`override_path`); it still
    // sends `?ns=`, which names the same registry.
    let (mirror, override_path) = if s.by_path {
        (
            format!("{scheme}://{host}/v2/{name}"),
            "\n  override_path = true",
        )
    } else {
        (format!("{scheme}://{host}"), "")
    };
    html += &snippet(
        "hosts.toml",
        name,
        &format!("/etc/containerd/certs.d/{name}/hosts.toml（containerd, Kubernetes）"),
        &format!(
            "server = \"{}\"\n\n[host.\"{mirror}\"]\n  capabilities = [\"pull\", \"resolve\"]{override_path}\n",
            s.upstream.public_endpoint()
        ),
    );
    // k3s/RKE2 take no path on an endpoint: a rewrite puts the registry in front of the name.
    let rewrite = if s.by_path {
        format!("\n    rewrite:\n      \"^(.*)$\": \"{name}/$1\"")
    } else {
        String::new()
    };
    html += &snippet(
        "registries.yaml",
        name,
        "/etc/rancher/k3s/registries.yaml（k3s, RKE2）",
        &format!("mirrors:\n  {name}:\n    endpoint:\n      - \"{scheme}://{host}\"{rewrite}\n"),
    );
    html
}

/// What a pull costs on this configuration, for an operator estimating requests per day. The
/// figures are the ones `tests/e2e/clients.test.mjs` measures with docker and the ESA host.
pub(super) struct PullCost {
    /// Requests a docker pull of a single-platform image sends this site, besides one per
    /// layer: the /v2/ ping, /token, the tag's HEAD, the manifest by digest, the config blob.
    pub docker_base: u32,
    /// At most this many upstream subrequests (fetches, redirect hops, cache calls) per layer
    /// request, with a cold token; ESA counts each against its 32.
    pub layer_subrequests: u32,
    /// Same, for a layer already in the edge cache (CACHE=on).
    pub cached_layer_subrequests: Option<u32>,
}

pub(super) fn pull_cost(config: &Config) -> PullCost {
    // The layer's GET upstream: its redirect is followed (registry + storage) or handed over.
    let fetch = match config.blob_redirect {
        BlobRedirect::Follow => 2,
        BlobRedirect::Passthrough => 1,
    };
    // A token for the proxy's own identity when none is held: the upstream's /token, after
    // learning its realm from /v2/ once per isolate.
    let token = 2;
    PullCost {
        docker_base: 5,
        // cache: entry lookup, then the layer put and its commit marker
        layer_subrequests: fetch + token + if config.cache.is_some() { 3 } else { 0 },
        // the entry and its commit marker
        cached_layer_subrequests: config.cache.map(|_| 2),
    }
}

fn cost_block(config: &Config) -> String {
    let c = pull_cost(config);
    let (cached_zh, cached_en) = match c.cached_layer_subrequests {
        Some(n) => (
            format!("，已缓存的层 {n} 个"),
            format!(", {n} for a cached layer"),
        ),
        None => (String::new(), String::new()),
    };
    format!(
        "<li data-pull-base=\"{b}\" data-layer-subrequests=\"{l}\">每次 docker pull 约 {b} + 层数 个请求（多架构镜像再加 1），\
         每个层请求最多 {l} 个上游子请求{cached_zh}<br>\
         a docker pull costs about {b} + (number of layers) requests to this site (one more for a \
         multi-arch image); each layer request at most {l} upstream subrequests{cached_en}</li>",
        b = c.docker_base,
        l = c.layer_subrequests,
    )
}

/// One line on what this instance saw of pull limits (it resets with the instance).
fn limits_line(ctx: &Ctx<'_>, state: &State) -> String {
    let limits = state.observed.limits();
    let last = match limits.iter().find(|(r, _, _)| *r == ctx.upstream.name) {
        Some((_, limit, remaining)) => {
            format!("{} / {}", escape_html(remaining), escape_html(limit))
        }
        None => "–".to_owned(),
    };
    let accounts = ctx.config.operator_accounts(ctx.upstream).len();
    let resting = state.accounts.resting_at(ctx.now).len();
    format!(
        "<li data-pull-limits>拉取限额（本实例所见）/ pull limits (this instance): 上游剩余 / upstream remaining {last}; \
         账号 / accounts {}/{accounts} 休息中 / resting; 备用来源应答 / fallback answers {}</li>",
        resting,
        state.observed.fallback_served()
    )
}

pub(super) fn render(ctx: &Ctx<'_>, state: &State) -> String {
    let host = escape_html(&ctx.service);
    let scheme = if ctx.origin.starts_with("http://") {
        "http"
    } else {
        "https"
    };
    let on_off = |on: bool| {
        if on {
            "on / 已启用"
        } else {
            "off / 未启用"
        }
    };
    let login = if ctx.config.users().is_empty() {
        String::new()
    } else {
        format!("<li>需要登录 / login required: <code>docker login {host}</code>（上游仓库账号 / your registry account）</li>")
    };
    let cost = cost_block(ctx.config);
    let limits = limits_line(ctx, state);
    let sections: String = served(ctx)
        .iter()
        .map(|s| registry_section(s, scheme, !ctx.config.users().is_empty()))
        .collect();
    format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{host} · 容器镜像加速 registry mirror</title>
<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:860px;margin:2em auto;padding:0 1em;color:#222}}
pre{{background:#f4f4f4;padding:.8em;overflow-x:auto;border-radius:6px}}h2{{border-bottom:1px solid #ddd;margin-top:2em}}
h3{{font-size:14px;margin:1.2em 0 .3em;color:#555}}code{{background:#f4f4f4;padding:0 .3em}}</style></head>
<body>
<h1>{host}</h1>
<p>容器镜像加速：把下面的配置复制到你的机器即可通过本站拉取镜像。<br>
Registry mirror: copy the configuration below to pull through this site.</p>
<ul>
<li>镜像白名单 / image whitelist: {}</li>
<li>用户白名单 / user whitelist: {}</li>
{login}<li>边缘缓存 / edge cache: {}</li>
{cost}
{limits}
</ul>
{sections}{FIND_AND_COPY}<p><a href="/version">/version</a> · {name} {version} · source {SOURCE}</p>
</body></html>
"#,
        on_off(!ctx.config.whitelist.is_empty()),
        on_off(!ctx.config.users().is_empty()),
        on_off(ctx.config.cache.is_some()),
        name = env!("CARGO_PKG_NAME"),
        version = env!("CARGO_PKG_VERSION"),
    )
}

/// The hash of the sources this build was made from (`scripts/source-hash.mjs`, set by `make
/// build`); the same hash is in release/MANIFEST.json and the bundles' first line.
const SOURCE: &str = match option_env!("ERP_SOURCE") {
    Some(s) => s,
    None => "unknown",
};

pub(super) fn version_json(config: &Config, state: &State, now: u64) -> String {
    let limits = state.observed.limits();
    let info = VersionInfo {
        name: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
        source: SOURCE,
        upstream: &config.upstream.name,
        routes: config
            .routes
            .iter()
            .map(|(host, u)| RouteInfo {
                host,
                registry: &u.name,
            })
            .collect(),
        registries: config.served().map(|u| u.name.as_str()).collect(),
        warnings: config.warnings(),
        instance: InstanceInfo {
            pull_limits: limits
                .iter()
                .map(|(registry, limit, remaining)| PullLimit {
                    registry,
                    limit,
                    remaining,
                })
                .collect(),
            accounts_resting: state.accounts.resting_at(now),
            fallback_served: state.observed.fallback_served(),
        },
        features: Features {
            whitelist: !config.whitelist.is_empty(),
            user_whitelist: !config.users().is_empty(),
            upstream_account: !config.operator_accounts(&config.upstream).is_empty(),
            cache: config.cache.is_some(),
            blob_redirect: match config.blob_redirect {
                BlobRedirect::Follow => "follow",
                BlobRedirect::Passthrough => "passthrough",
            },
        },
    };
    serde_json::to_string(&info).expect("strings and booleans serialize")
}

/// `/version`: what a health check or an operator reads; never patterns, users or secrets.
#[derive(serde::Serialize)]
struct VersionInfo<'a> {
    name: &'static str,
    version: &'static str,
    source: &'static str,
    upstream: &'a str,
    routes: Vec<RouteInfo<'a>>,
    /// Every registry served by path (`my.domain/ghcr.io/...`) and `?ns=`, by name.
    registries: Vec<&'a str>,
    warnings: Vec<&'static str>,
    /// What this instance has seen (each instance its own).
    instance: InstanceInfo<'a>,
    features: Features,
}

#[derive(serde::Serialize)]
struct InstanceInfo<'a> {
    pull_limits: Vec<PullLimit<'a>>,
    /// Names of the operator's accounts resting after a 429 (never their tokens).
    accounts_resting: Vec<String>,
    fallback_served: u64,
}

#[derive(serde::Serialize)]
struct PullLimit<'a> {
    registry: &'a str,
    limit: &'a str,
    remaining: &'a str,
}

#[derive(serde::Serialize)]
struct RouteInfo<'a> {
    host: &'a str,
    registry: &'a str,
}

#[derive(serde::Serialize)]
struct Features {
    whitelist: bool,
    user_whitelist: bool,
    upstream_account: bool,
    cache: bool,
    blob_redirect: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(config: &'a Config, service: &str, origin: &str) -> Ctx<'a> {
        Ctx {
            config,
            upstream: config.upstream_for_host(service),
            selected: config.upstream_for_host(service),
            by_path: false,
            origin: origin.into(),
            service: service.into(),
            ns: None,
            now: 0,
        }
    }

    #[test]
    fn snippets_name_the_visited_host_for_every_registry() {
        let c = Config::from_pairs([
            ("ROUTES", "ghcr.example.com=ghcr.io"),
            ("REGISTRIES", "quay.io"),
        ])
        .unwrap();
        let page = render(
            &ctx(&c, "hub.example.com", "https://hub.example.com"),
            &State::default(),
        );
        assert!(page.contains("docker pull hub.example.com/library/nginx:latest"));
        assert!(
            page.contains("&quot;registry-mirrors&quot;: [&quot;https://hub.example.com&quot;]")
        );
        // Every other registry by path on the visited host; a routed one names its own host too.
        assert!(page.contains("docker pull hub.example.com/ghcr.io/org/image:tag"));
        assert!(page.contains("<code>ghcr.example.com</code>"));
        assert!(page.contains("docker pull hub.example.com/quay.io/org/image:tag"));
        assert!(page.contains("[host.&quot;https://hub.example.com/v2/quay.io&quot;]\n  capabilities = [&quot;pull&quot;, &quot;resolve&quot;]\n  override_path = true"));
        assert!(page.contains("location = &quot;hub.example.com/quay.io&quot;"));
        assert!(page.contains("&quot;^(.*)$&quot;: &quot;quay.io/$1&quot;"));
        assert_eq!(page.matches("data-snippet=\"daemon.json\"").count(), 1);
        // Visiting the route host puts its registry first, by host; Docker Hub is then by path.
        let page = render(
            &ctx(&c, "ghcr.example.com:8443", "https://ghcr.example.com:8443"),
            &State::default(),
        );
        let ghcr = page.find("<h2>ghcr.io</h2>").unwrap();
        let hub = page.find("<h2>docker.io</h2>").unwrap();
        assert!(ghcr < hub);
        assert!(page.contains("docker pull ghcr.example.com:8443/org/image:tag"));
        assert!(page.contains("docker pull ghcr.example.com:8443/docker.io/library/nginx:latest"));
        // docker's registry-mirrors takes no path: none for Docker Hub by path.
        assert!(!page.contains("data-snippet=\"daemon.json\""));
    }

    #[test]
    fn containerd_snippets_name_the_public_registry_never_the_internal_endpoint() {
        let c = Config::from_pairs([
            ("UPSTREAM", "docker.io@http://10.0.0.7:5000"),
            (
                "ROUTES",
                "q.example.com=quay.io@https://quay-cache.internal",
            ),
        ])
        .unwrap();
        let page = render(
            &ctx(&c, "hub.example.com", "https://hub.example.com"),
            &State::default(),
        );
        assert!(page.contains("server = &quot;https://registry-1.docker.io&quot;"));
        assert!(page.contains("server = &quot;https://quay.io&quot;"));
        assert!(!page.contains("10.0.0.7") && !page.contains("internal"));
    }

    #[test]
    fn mirror_login_helper_only_with_a_user_whitelist() {
        let open = Config::from_pairs([("WHITELIST", "x")]).unwrap();
        let page = render(
            &ctx(&open, "hub.example.com", "https://hub.example.com"),
            &State::default(),
        );
        assert!(!page.contains("auth-make"));
        let users = Config::from_pairs([
            ("USER_WHITELIST", "alice"),
            ("TOKEN_SECRET", "0123456789abcdef0123456789abcdef"),
        ])
        .unwrap();
        let page = render(
            &ctx(&users, "hub.example.com", "https://hub.example.com"),
            &State::default(),
        );
        assert!(page.contains("https://index.docker.io/v1/") && page.contains("auth-make"));
    }

    #[test]
    fn hostile_host_is_escaped_and_no_secrets_shown() {
        let c = Config::from_pairs([
            ("WHITELIST", "secret-team/*"),
            ("USER_WHITELIST", "alice"),
            ("TOKEN_SECRET", "a-very-secret-token-key"),
        ])
        .unwrap();
        let page = render(
            &ctx(&c, "x\"><script>alert(1)</script>", "https://x"),
            &State::default(),
        );
        assert!(!page.contains("alert(1)</script>"));
        for secret in ["secret-team", "alice", "a-very-secret-token-key"] {
            assert!(!page.contains(secret), "{secret}");
        }
        assert!(page.contains("docker login"));
        let v = version_json(&c, &State::default(), 0);
        for secret in ["secret-team", "alice", "a-very-secret-token-key"] {
            assert!(!v.contains(secret), "{secret}");
        }
    }
}
