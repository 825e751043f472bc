// ============================================================================================
// edge-registry-proxy · 阿里云 ESA 边缘函数 / Alibaba Cloud ESA edge function
//
// 只需修改下面的 CONFIG，然后把整个文件粘贴到 ESA 控制台。ESA「函数变量」中同名的变量会覆盖这里的值。
// Edit CONFIG below, then paste this whole file into the ESA console. ESA function variables
// with the same names override these values (an empty one does not). Empty string = not set.
// Lists may be arrays: WHITELIST: ['library/nginx', 'jqknono/*']. Full docs: README.md.
// ============================================================================================
const CONFIG = {
  // 默认上游仓库（域名、URL，或 名称@URL）/ default upstream: a registry name, a URL, or NAME@URL
  UPSTREAM: 'https://registry-1.docker.io',
  // 按访问域名选择上游 / upstream by request host: 'ghcr.example.com=ghcr.io,quay.example.com=quay.io'
  ROUTES: '',
  // 按路径代理的仓库 / registries served by path: 'ghcr.io, quay.io, registry.k8s.io' 后即可
  // docker pull 本站域名/ghcr.io/org/app（UPSTREAM 与 ROUTES 的仓库已包含 / UPSTREAM and ROUTES targets are included)
  REGISTRIES: '',
  // 镜像白名单，空 = 全部允许 / image whitelist, empty = allow all: 'library/nginx, jqknono/*'
  WHITELIST: '',
  // 允许拉取的用户（需 docker login）/ users allowed to pull (they docker login with their upstream account);
  // 'alice' = alice on UPSTREAM, 'ghcr.io/bob' = bob on that configured registry only
  USER_WHITELIST: '',
  // 代理令牌签名密钥（启用用户白名单、运营者账号或缓存时必填）/ token key: required with USER_WHITELIST, UPSTREAM_USERNAME or CACHE=on
  TOKEN_SECRET: '',
  // 运营者的上游账号（提高限额；也能读私有镜像，请配合白名单）/ operator's upstream account (higher rate
  // limits; it reads the operator's private images too: keep WHITELIST narrow). Unused with USER_WHITELIST.
  UPSTREAM_USERNAME: '',
  UPSTREAM_PASSWORD: '',
  // 运营者账号池，轮流使用，429 的账号休息到窗口结束 / a pool of operator accounts taking turns; one that gets
  // a 429 rests until its window ends: 'user1:token1,user2:token2' (Docker Hub access tokens)
  UPSTREAM_ACCOUNTS: '',
  // 边缘缓存 on/off（on 需要 TOKEN_SECRET）/ edge cache on/off (on needs TOKEN_SECRET)
  CACHE: 'off',
  // 标签缓存秒数 / seconds a tag->manifest answer is reused
  CACHE_TAG_TTL: '600',
  // 缓存的最大层大小（MB；Cloudflare 上限 512）/ largest layer the cache stores, in MB (Cloudflare: 512 max)
  CACHE_MAX_BLOB_MB: '512',
  // follow: 由边缘拉取重定向的层 / stream redirected layers through the edge; passthrough: 307 to client
  BLOB_REDIRECT: 'follow',
  // 备用来源：主仓库 429/5xx/不可达时读取 / sources read when the registry answers 429, 5xx or is down:
  // 'docker.io=mirror.gcr.io' (only images that mirror holds; tags trusted to it)
  FALLBACK: '',
  // docker search 查询的地址（结果按白名单过滤）/ where docker search asks (results filtered by WHITELIST)
  SEARCH_UPSTREAM: 'https://index.docker.io',
  // 日志：errors（默认，仅拒绝/错误）、all（每个请求）、off / log: errors (default), all (every request), off
  LOG: 'errors',
  // 测试用：on 时 GET /__panic 触发 panic，用于验证部署的容错 / test only: on makes GET /__panic panic
  DEBUG_PANIC: 'off',
};
// ============================ end of CONFIG / 配置结束 =======================================
