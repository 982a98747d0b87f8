"""A stand-in for the Hugging Face Hub's HTTP API on 127.0.0.1, serving model and dataset repositories from a folder.

It answers what the pinned huggingface_hub (and transformers and datasets through it) ask: repository info, the file
tree, file resolution (HEAD and GET, the headers the client checks, its redirects), commits by branch and by sha,
the error codes the client maps to its exceptions, and repository creation and commits (upload_folder). Point
HF_ENDPOINT at `url`. Standard library only, so that `python tests/hub_standin.py --root FOLDER` starts at once.

The folder: `ROOT/models/<repo id>/` and `ROOT/datasets/<repo id>/`. A repository written by `write_commit` keeps
`repo.json` (refs, gated, moved_to) and one folder per commit, `commits/<sha>/`; any other folder with files is served
read-only as a single commit on `main`. How files are served follows the hub:

- a regular file: `/{repo}/resolve/{rev}/{path}` answers 307 to `/api/resolve-cache/...`, which serves it with its
  git blob sha as ETag, X-Repo-Commit and Content-Length;
- an LFS file (by the commit's .gitattributes): 302 to a signed URL on a second port (another origin, as the hub's
  CDN is), with X-Linked-Etag (its sha256) and X-Linked-Size; that server refuses a request that carries an
  Authorization header, as S3 does, and honours Range.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import hmac
import json
import shutil
import signal
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

HOST = "127.0.0.1"
KINDS = {"models": "model", "datasets": "dataset", "spaces": "space"}  # URL segment -> repo type
FOLDERS = {kind: segment for segment, kind in KINDS.items()}
DATE = "2024-01-01T00:00:00.000Z"
# The hub's default .gitattributes for a new repository (the LFS part that matters here).
DEFAULT_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in (
        "*.7z *.arrow *.bin *.bz2 *.ckpt *.ftz *.gz *.h5 *.joblib *.lfs.* *.mlmodel *.model *.msgpack *.npy *.npz "
        "*.onnx *.ot *.parquet *.pb *.pickle *.pkl *.pt *.pth *.rar *.safetensors saved_model/**/* *.tar.* *.tar "
        "*.tflite *.tgz *.wasm *.xz *.zip *.zst *tfevents*"
    ).split()
)
API_MARKERS = ("revision", "tree", "preupload", "commit")


# --- repositories on disk ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One file of a commit: its git blob id (of the LFS pointer for an LFS file) and, for LFS, its sha256."""

    path: str
    size: int
    blob: str
    sha256: str | None


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def lfs_patterns(tree: Path) -> list[str]:
    attributes = tree / ".gitattributes"
    text = attributes.read_text(encoding="utf-8") if attributes.is_file() else DEFAULT_GITATTRIBUTES
    return [line.split()[0] for line in text.splitlines() if "filter=lfs" in line.split()[1:]]


def is_lfs(path: str, patterns: list[str]) -> bool:
    name = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(path if "/" in p else name, p) for p in patterns)


def tree_files(tree: Path) -> list[Path]:
    """The files of a commit's folder; `.git` and `.cache` (what `hf download --local-dir` keeps) are no part of it."""
    files = (p for p in tree.rglob("*") if p.is_file())
    return sorted(p for p in files if not {".git", ".cache"} & set(p.relative_to(tree).parts))


def tree_entries(tree: Path) -> dict[str, Entry]:
    patterns = lfs_patterns(tree)
    entries = {}
    for file in tree_files(tree):
        path, data = file.relative_to(tree).as_posix(), file.read_bytes()
        if is_lfs(path, patterns):
            sha256 = hashlib.sha256(data).hexdigest()
            entries[path] = Entry(path, len(data), git_blob_id(lfs_pointer(sha256, len(data))), sha256)
        else:
            entries[path] = Entry(path, len(data), git_blob_id(data), None)
    return entries


def commit_id(parent: str | None, title: str, entries: dict[str, Entry]) -> str:
    listing = [(e.path, e.blob) for e in entries.values()]
    return hashlib.sha1(json.dumps([parent, title, listing]).encode()).hexdigest()


class Repo:
    """A repository folder: `repo.json` + `commits/<sha>/` (versioned), or a plain folder of files (one commit)."""

    def __init__(self, folder: Path, kind: str, repo_id: str):
        self.folder, self.kind, self.repo_id = folder, kind, repo_id
        settings = folder / "repo.json"
        self.versioned = settings.is_file()
        self.settings = json.loads(settings.read_text(encoding="utf-8")) if self.versioned else {}

    @staticmethod
    def find(root: Path, kind: str, repo_id: str) -> Repo | None:
        folder = root / FOLDERS[kind] / repo_id
        if not folder.is_dir() or ".." in repo_id.split("/"):
            return None
        repo = Repo(folder, kind, repo_id)
        if repo.versioned or any(p.is_file() for p in folder.iterdir()):
            return repo
        return None  # an owner's folder, not a repository

    @property
    def gated(self):
        return self.settings.get("gated", False)

    @property
    def moved_to(self) -> str | None:
        return self.settings.get("moved_to")

    def refs(self) -> dict[str, str]:
        if self.versioned:
            return dict(self.settings.get("refs", {}))
        # A plain folder's commit: its file names, sizes and times (hashing gigabytes on every request would not do).
        listing = [
            (str(p.relative_to(self.folder)), p.stat().st_size, p.stat().st_mtime_ns) for p in tree_files(self.folder)
        ]
        return {"main": hashlib.sha1(json.dumps(listing).encode()).hexdigest()}

    def resolve(self, revision: str) -> str | None:
        """The commit sha a branch, ref or full sha names, or None."""
        refs = self.refs()
        if revision in refs:
            return refs[revision]
        known = (self.folder / "commits" / revision).is_dir() if self.versioned else revision in refs.values()
        return revision if len(revision) == 40 and known else None

    def tree(self, sha: str) -> Path:
        return self.folder / "commits" / sha if self.versioned else self.folder

    def commit_info(self, sha: str) -> dict:
        meta = self.folder / "commits" / f"{sha}.json"
        return json.loads(meta.read_text(encoding="utf-8")) if meta.is_file() else {"parent": None, "title": ""}


def create_repo(root: Path, kind: str, repo_id: str, *, gated=False, moved_to: str | None = None) -> Path:
    """An empty versioned repository (`moved_to`: a renamed one whose requests redirect to the new id)."""
    folder = Path(root) / FOLDERS[kind] / repo_id
    (folder / "commits").mkdir(parents=True, exist_ok=True)
    settings = {"refs": {}, "gated": gated}
    if moved_to:
        settings["moved_to"] = moved_to
    (folder / "repo.json").write_text(json.dumps(settings, indent=1), encoding="utf-8")
    return folder


def write_commit(
    root: Path,
    kind: str,
    repo_id: str,
    files: dict[str, bytes | Path],
    title: str,
    *,
    branch: str = "main",
    deleted: tuple[str, ...] = (),
    sha: str | None = None,
) -> str:
    """Commit `files` (path -> bytes, or a file to copy) on top of `branch`; `sha` pins the commit id (the real one).

    Creates the repository (and the branch) when needed; returns the commit sha.
    """
    folder = Path(root) / FOLDERS[kind] / repo_id
    if not (folder / "repo.json").is_file():
        create_repo(root, kind, repo_id)
    settings = json.loads((folder / "repo.json").read_text(encoding="utf-8"))
    parent = settings["refs"].get(branch)
    staging = folder / "commits" / f".staging-{threading.get_ident()}"
    shutil.rmtree(staging, ignore_errors=True)
    if parent:
        shutil.copytree(folder / "commits" / parent, staging)
    else:
        staging.mkdir(parents=True)
        (staging / ".gitattributes").write_text(DEFAULT_GITATTRIBUTES, encoding="utf-8")
    for path in deleted:
        target = staging / path
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    for path, content in files.items():
        target = staging / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else Path(content).read_bytes())
    sha = sha or commit_id(parent, title, tree_entries(staging))
    if (folder / "commits" / sha).exists():
        shutil.rmtree(staging)  # the very same commit again
    else:
        staging.rename(folder / "commits" / sha)
        meta = {"parent": parent, "title": title, "date": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}
        (folder / "commits" / f"{sha}.json").write_text(json.dumps(meta), encoding="utf-8")
    settings["refs"][branch] = sha
    (folder / "repo.json").write_text(json.dumps(settings, indent=1), encoding="utf-8")
    return sha


# --- HTTP -------------------------------------------------------------------------------------------------------


class HubError(Exception):
    """An error answer: status, the X-Error-Code the client maps to an exception, a message, extra headers."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.headers = status, code, headers or {}


class HubStandIn:
    """The stand-in server (and its "CDN" on a second port), both on 127.0.0.1; a context manager.

    `tokens`: the accepted tokens (token -> user name). They may read gated repositories and write; an unknown
    token is refused everywhere (401), as the hub refuses invalid credentials. `requests` logs every request as
    (server, method, path, status, route); route "unhandled" marks an endpoint the stand-in does not implement,
    "error" a request it failed on (a 500).
    """

    def __init__(self, root: Path | str, port: int = 0, cdn_port: int = 0, tokens: dict[str, str] | None = None):
        self.root = Path(root)
        self.tokens = dict(tokens or {})
        self.requests: list[tuple[str, str, str, int, str]] = []
        self.secret = hashlib.sha256(str(time.time_ns()).encode()).digest()
        self.lock = threading.Lock()  # commits and repository creation, one at a time
        self._faults: dict[str, int] = {}  # path suffix -> bytes after which one GET answer is cut
        self._entries: dict[tuple[Path, str], dict[str, Entry]] = {}
        self._servers = [self._server(port, "hub"), self._server(cdn_port, "cdn")]
        self._threads: list[threading.Thread] = []

    def _server(self, port: int, role: str) -> ThreadingHTTPServer:
        handler = type(f"{role.title()}Handler", (_Handler,), {"hub": self, "role": role})
        server = ThreadingHTTPServer((HOST, port), handler)
        server.daemon_threads = True
        return server

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._servers[0].server_address[1]}"

    @property
    def cdn_url(self) -> str:
        return f"http://{HOST}:{self._servers[1].server_address[1]}"

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [s.server_address[:2] for s in self._servers]

    def start(self) -> HubStandIn:
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(5)

    def __enter__(self) -> HubStandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def cut_once(self, path_suffix: str, after_bytes: int) -> None:
        """The next GET of a file whose URL path ends with `path_suffix` sends `after_bytes` bytes, then drops."""
        with self.lock:
            self._faults[path_suffix] = after_bytes

    def take_fault(self, path: str) -> int | None:
        with self.lock:
            for suffix in list(self._faults):
                if path.endswith(suffix):
                    return self._faults.pop(suffix)
        return None

    def entries(self, repo: Repo, sha: str) -> dict[str, Entry]:
        key = (repo.folder, sha)
        if key not in self._entries:  # a commit never changes (a plain folder that changes has another sha)
            self._entries[key] = tree_entries(repo.tree(sha))
        return self._entries[key]

    def sign(self, target: str, expires: int) -> str:
        return hmac.new(self.secret, f"{target}|{expires}".encode(), hashlib.sha256).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects
    hub: HubStandIn
    role: str

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass  # requests are kept in hub.requests instead

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # --- plumbing ---

    def _dispatch(self, method: str) -> None:
        self.method, self.route, self.status = method, "unhandled", 0
        parts = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.segments = [unquote(s) for s in parts.path.split("/")[1:]]
        self.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            if self.role == "cdn":
                self._cdn()
            else:
                self._route(method)
        except _Moved as moved:
            self._redirect(307, moved.location)
        except HubError as exc:
            self._error(exc)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - a bug here must answer (and show in the log), not hang the client
            self.route = "error"
            self._error(HubError(500, f"stand-in error: {type(exc).__name__}: {exc}"))
        finally:
            with self.hub.lock:
                self.hub.requests.append((self.role, method, self.path, self.status, self.route))

    def _route(self, method: str) -> None:
        s = self.segments
        if s == [""] or not s:
            self.route = "root"
            return self._send(200, b"hub stand-in\n", "text/plain")
        if s[0] == "api":
            return self._api(method, s[1:])
        kind = KINDS.get(s[0], "model")  # models have no prefix: /{id}/resolve/...; others /datasets/, /spaces/
        rest = s[1:] if kind != "model" else s
        if "resolve" in rest[1:3] and method in ("HEAD", "GET"):
            at = rest.index("resolve", 1)
            return self._resolve(kind, "/".join(rest[:at]), rest[at + 1 :])
        raise HubError(404, "Not found")

    def _api(self, method: str, s: list[str]) -> None:
        if s[:2] == ["repos", "create"] and method == "POST":
            return self._create_repo()
        if s == ["agent-harnesses"] and method == "GET":  # the client's registry of AI-agent harnesses
            self.route = "agent-harnesses"
            return self._json(200, {"standardEnvVars": ["AI_AGENT", "AGENT"], "harnesses": {}})
        if s == ["validate-yaml"] and method == "POST":
            self.route = "validate-yaml"
            return self._json(200, {"errors": [], "warnings": []})
        if s[:1] == ["resolve-cache"] and len(s) > 4 and s[1] in KINDS and method in ("HEAD", "GET"):
            return self._resolve_cache(KINDS[s[1]], s[2:])
        if not s or s[0] not in KINDS or len(s) < 2:
            raise HubError(404, "Not found")
        kind, rest = KINDS[s[0]], s[1:]
        at = next((i for i in (1, 2) if i < len(rest) and rest[i] in API_MARKERS), None)
        repo_id = "/".join(rest if at is None else rest[:at])
        action, args = (None, []) if at is None else (rest[at], rest[at + 1 :])
        if at is None and len(rest) > 2:
            raise HubError(404, "Not found")
        handlers = {
            (None, "GET"): self._info,
            ("revision", "GET"): self._info,
            ("tree", "GET"): self._tree,
            ("preupload", "POST"): self._preupload,
            ("commit", "POST"): self._commit,
        }
        handler = handlers.get((action, method))
        if handler is None:
            raise HubError(404, "Not found")
        self.route = action or "info"
        return handler(kind, repo_id, args)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.method != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value, headers: dict | None = None) -> None:
        self._send(status, json.dumps(value).encode(), "application/json; charset=utf-8", headers)

    def _error(self, exc: HubError) -> None:
        headers = dict(exc.headers, **{"X-Error-Message": str(exc)})
        if exc.code:
            headers["X-Error-Code"] = exc.code
        body = {"error": str(exc)}
        if "X-Repo-Url" in exc.headers:  # the hub's 409 for a repository that exists names it in the body too
            body["url"] = exc.headers["X-Repo-Url"]
        self._json(exc.status, body, headers)

    def _redirect(self, status: int, location: str, headers: dict | None = None) -> None:
        self._send(status, f"Redirecting to {location}".encode(), "text/plain", dict(headers or {}, Location=location))

    # --- access ---

    def _user(self) -> str | None:
        """The user of the request's token; None without one. An unknown token is refused, as the hub does."""
        auth = self.headers.get("Authorization", "")
        if not auth:
            return None
        token = auth.removeprefix("Bearer ").strip()
        if token not in self.hub.tokens:
            raise HubError(401, "Invalid credentials in Authorization header")
        return self.hub.tokens[token]

    def _repo(self, kind: str, repo_id: str, *, files: bool = False) -> Repo:
        """The repository, or the hub's answer: 404 RepoNotFound, a redirect for a moved one, 401 GatedRepo."""
        user = self._user()
        repo = Repo.find(self.hub.root, kind, repo_id)
        if repo is None:
            raise HubError(404, "Repository not found", "RepoNotFound")
        if repo.moved_to:
            raise _Moved(_renamed(self.path, repo_id, repo.moved_to))
        if files and repo.gated and user is None:
            raise HubError(
                401,
                f"Access to {kind} {repo_id} is restricted. You must have access to it and be authenticated to "
                f"access it. Please log in.",
                "GatedRepo",
            )
        return repo

    def _commit_of(self, repo: Repo, revision: str) -> str:
        sha = repo.resolve(revision)
        if sha is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return sha

    def _revision_and_path(self, repo: Repo, parts: list[str]) -> tuple[str, list[str]]:
        """The revision segment (a quoted "refs/convert/parquet" is one segment; an unquoted one, three) and the rest."""
        if not parts:
            raise HubError(404, "Not found")
        if parts[0] == "refs" and len(parts) >= 3 and repo.resolve("/".join(parts[:3])):
            return "/".join(parts[:3]), parts[3:]
        return parts[0], parts[1:]

    # --- read endpoints ---

    def _info(self, kind: str, repo_id: str, args: list[str]) -> None:
        repo = self._repo(kind, repo_id)
        revision = "/".join(args) if args else "main"
        sha = self._commit_of(repo, revision)
        entries = self.hub.entries(repo, sha)
        blobs = self.query.get("blobs", "").lower() in ("1", "true")
        siblings = [_sibling(e, blobs) for e in entries.values()]
        info = {
            "_id": hashlib.md5(repo_id.encode()).hexdigest()[:24],
            "id": repo_id,
            "author": repo_id.split("/")[0] if "/" in repo_id else None,
            "sha": sha,
            "lastModified": repo.commit_info(sha).get("date", DATE),
            "createdAt": DATE,
            "private": False,
            "gated": repo.gated,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "siblings": siblings,
            "usedStorage": sum(e.size for e in entries.values()),
        }
        if kind == "model":
            info.update(modelId=repo_id, library_name="transformers")
        self._json(200, info)

    def _tree(self, kind: str, repo_id: str, args: list[str]) -> None:
        repo = self._repo(kind, repo_id)
        revision, path = self._revision_and_path(repo, args)
        sha = self._commit_of(repo, revision)
        base = "/".join(path).strip("/")
        recursive = self.query.get("recursive", "").lower() in ("1", "true")
        listing = _listing(self.hub.entries(repo, sha), base, recursive)
        if listing is None:
            raise HubError(404, f"{base} does not exist on {revision}", "EntryNotFound", {"X-Repo-Commit": sha})
        self._json(200, listing)

    def _resolve(self, kind: str, repo_id: str, parts: list[str]) -> None:
        self.route = "resolve"
        repo = self._repo(kind, repo_id, files=True)
        revision, path = self._revision_and_path(repo, parts)
        sha = self._commit_of(repo, revision)
        filename = "/".join(path)
        entry = self.hub.entries(repo, sha).get(filename)
        headers = {"X-Repo-Commit": sha, "Access-Control-Expose-Headers": "X-Repo-Commit,X-Linked-Size,X-Linked-ETag"}
        if entry is None:
            raise HubError(404, "Entry not found", "EntryNotFound", headers)
        if entry.sha256 is None:  # a regular git file: via the resolve cache, a same-origin relative redirect
            location = f"/api/resolve-cache/{FOLDERS[kind]}/{quote(repo_id)}/{sha}/{quote(filename)}"
            return self._redirect(307, location, dict(headers, ETag=f'"{entry.blob}"'))
        expires = int(time.time()) + 3600
        target = f"{FOLDERS[kind]}/{repo_id}/{sha}/{filename}"
        location = (
            f"{self.hub.cdn_url}/lfs/{quote(target)}?Expires={expires}&Signature={self.hub.sign(target, expires)}"
        )
        linked = {"X-Linked-Etag": f'"{entry.sha256}"', "X-Linked-Size": str(entry.size), "ETag": f'"{entry.blob}"'}
        self._redirect(302, location, dict(headers, **linked))

    def _resolve_cache(self, kind: str, parts: list[str]) -> None:
        self.route = "resolve-cache"
        at = _sha_index(parts)
        repo_id, sha, filename = "/".join(parts[:at]), parts[at], "/".join(parts[at + 1 :])
        repo = self._repo(kind, repo_id, files=True)
        sha = self._commit_of(repo, sha)
        entry = self.hub.entries(repo, sha).get(filename)
        if entry is None or entry.sha256 is not None:
            raise HubError(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": sha})
        self._file(repo.tree(sha) / filename, {"ETag": f'"{entry.blob}"', "X-Repo-Commit": sha})

    def _cdn(self) -> None:
        """A signed URL for an LFS file: no Authorization header allowed (S3 refuses a second auth mechanism)."""
        self.route = "cdn"
        if self.headers.get("Authorization"):
            raise HubError(400, "Only one auth mechanism allowed; only the signature query parameter is supported")
        if self.segments[:1] != ["lfs"] or self.method not in ("GET", "HEAD"):
            raise HubError(404, "Not found")
        target = "/".join(self.segments[1:])
        expires = int(self.query["Expires"]) if self.query.get("Expires", "").isdigit() else 0
        if not hmac.compare_digest(self.hub.sign(target, expires), self.query.get("Signature", "")):
            raise HubError(403, "Signature does not match")
        if expires < time.time():
            raise HubError(403, "Request has expired")
        parts = target.split("/")
        at = _sha_index(parts[1:]) + 1  # the URL was signed as issued: models|datasets / repo id / sha / path
        repo = Repo.find(self.hub.root, KINDS[parts[0]], "/".join(parts[1:at]))
        if repo is None:
            raise HubError(404, "Not found")
        self._file(repo.tree(parts[at]) / "/".join(parts[at + 1 :]), {})

    def _file(self, file: Path, headers: dict) -> None:
        """The file, or the byte range asked for (206, as the client asks when it resumes a cut download)."""
        data = file.read_bytes()
        wanted = self.headers.get("Range")
        start, end, status = 0, len(data), 200
        if wanted:
            start, end = _byte_range(wanted, len(data))
            status = 206
            headers = dict(headers, **{"Content-Range": f"bytes {start}-{end - 1}/{len(data)}"})
        body = data[start:end]
        cut = self.hub.take_fault(urlsplit(self.path).path) if self.method == "GET" else None
        if cut is None:
            return self._send(status, body, "application/octet-stream", dict(headers, **{"Accept-Ranges": "bytes"}))
        self.status = status
        self.send_response(status)  # announce the whole body, send part of it, drop the connection
        for name, value in dict(headers, **{"Content-Length": str(len(body))}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body[:cut])
        self.wfile.flush()
        self.close_connection = True

    # --- write endpoints ---

    def _writer(self) -> str:
        user = self._user()
        if user is None:
            raise HubError(401, "You must be authenticated to access this resource.")
        return user

    def _create_repo(self) -> None:
        self.route = "create"
        self._writer()
        payload = json.loads(self.body or b"{}")
        kind = payload.get("type") or "model"
        repo_id = "/".join(p for p in (payload.get("organization"), payload.get("name")) if p)
        prefix = "" if kind == "model" else FOLDERS[kind] + "/"
        url = f"{self.hub.url}/{prefix}{repo_id}"
        with self.hub.lock:
            if Repo.find(self.hub.root, kind, repo_id) is not None:
                raise HubError(409, f"You already created this {kind} repo", headers={"X-Repo-Url": url})
            write_commit(self.hub.root, kind, repo_id, {}, "initial commit")
        self._json(200, {"url": url, "name": repo_id, "id": repo_id})

    def _preupload(self, kind: str, repo_id: str, args: list[str]) -> None:
        """Every file goes in the commit itself ("regular"); the stand-in has no LFS or Xet upload protocol."""
        self._writer()
        repo = self._repo(kind, repo_id)
        revision, _ = self._revision_and_path(repo, args)
        sha = repo.resolve(revision)
        entries = self.hub.entries(repo, sha) if sha else {}
        files = json.loads(self.body or b"{}").get("files", [])
        answer = [
            {
                "path": f["path"],
                "uploadMode": "regular",
                "shouldIgnore": False,
                "oid": entries[f["path"]].blob if f["path"] in entries else None,
            }
            for f in files
        ]
        self._json(200, {"files": answer, "commitOid": sha})

    def _commit(self, kind: str, repo_id: str, args: list[str]) -> None:
        self._writer()
        repo = self._repo(kind, repo_id)
        if not repo.versioned:
            raise HubError(403, f"{repo_id} is a plain folder, served read-only")
        branch, _ = self._revision_and_path(repo, args)
        lines = [json.loads(line) for line in self.body.decode().splitlines() if line.strip()]
        header = next((item["value"] for item in lines if item["key"] == "header"), {})
        files, deleted = {}, []
        for item in lines:
            key, value = item["key"], item["value"]
            if key == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif key in ("deletedFile", "deletedFolder"):
                deleted.append(value["path"])
            elif key == "lfsFile":
                raise HubError(400, "The stand-in takes files in the commit only (preupload answers 'regular')")
        with self.hub.lock:
            head = repo.resolve(branch)
            if header.get("parentCommit") and header["parentCommit"] != head:
                raise HubError(412, "A commit has happened since. Please refresh and try again.")
            title = header.get("summary") or "update"
            sha = write_commit(self.hub.root, kind, repo_id, files, title, branch=branch, deleted=tuple(deleted))
        prefix = "" if kind == "model" else FOLDERS[kind] + "/"
        self._json(
            200,
            {"success": True, "commitOid": sha, "commitUrl": f"{self.hub.url}/{prefix}{repo_id}/commit/{sha}"},
        )


class _Moved(Exception):
    """A renamed repository: the same request under its new id (307, a relative redirect the client follows)."""

    def __init__(self, location: str):
        super().__init__(location)
        self.location = location


def _renamed(raw_path: str, repo_id: str, new_id: str) -> str:
    """The same request path with the repository's new id in place of the old one."""
    path, _, query = raw_path.partition("?")
    segments, size = path.split("/"), repo_id.count("/") + 1
    at = next(i for i in range(len(segments)) if [unquote(s) for s in segments[i : i + size]] == repo_id.split("/"))
    segments[at : at + size] = [quote(s) for s in new_id.split("/")]
    return "/".join(segments) + (f"?{query}" if query else "")


def _sha_index(parts: list[str]) -> int:
    """Where the commit sha stands after a repository id of one or two segments."""
    for at in (1, 2):
        if at < len(parts) and len(parts[at]) == 40 and all(c in "0123456789abcdef" for c in parts[at]):
            return at
    raise HubError(404, "Not found")


def _sibling(entry: Entry, blobs: bool) -> dict:
    sibling = {"rfilename": entry.path}
    if blobs:
        sibling.update(size=entry.size, blobId=entry.blob)
        if entry.sha256:
            sibling["lfs"] = {"sha256": entry.sha256, "size": entry.size, "pointerSize": 134}
    return sibling


def _listing(entries: dict[str, Entry], base: str, recursive: bool) -> list[dict] | None:
    """Tree entries under `base` (files and folders; only the direct children unless `recursive`); None if absent."""
    prefix = f"{base}/" if base else ""
    inside = [e for e in entries.values() if e.path.startswith(prefix)]
    if base and not inside:
        return None
    folders, files = set(), []
    for entry in inside:
        relative = entry.path[len(prefix) :].split("/")
        for depth in range(1, len(relative)):
            folders.add("/".join(relative[:depth]))
        if recursive or len(relative) == 1:
            files.append(entry)
    if not recursive:
        folders = {f for f in folders if "/" not in f}
    listing = [
        {"type": "directory", "oid": hashlib.sha1(f"{prefix}{f}".encode()).hexdigest(), "size": 0, "path": prefix + f}
        for f in sorted(folders)
    ]
    for entry in files:
        item = {"type": "file", "oid": entry.blob, "size": entry.size, "path": entry.path}
        if entry.sha256:
            item["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": len(lfs_pointer(entry.sha256, 0))}
        listing.append(item)
    return listing


def _byte_range(header: str, size: int) -> tuple[int, int]:
    """[start, end) of a `bytes=a-b`, `bytes=a-` or `bytes=-n` header; a range past the end is a 416."""
    first, _, last = header.removeprefix("bytes=").split(",")[0].strip().partition("-")
    if first:
        start, end = int(first), (int(last) + 1 if last else size)
    else:
        start, end = max(size - int(last), 0), size
    if start >= size or start >= end:
        raise HubError(416, "Requested range not satisfiable", headers={"Content-Range": f"bytes */{size}"})
    return start, min(end, size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="folder with models/<repo id>/ and datasets/<repo id>/")
    parser.add_argument("--port", type=int, default=0, help="port of the API (default: a free one)")
    parser.add_argument("--cdn-port", type=int, default=0, help="port of the LFS file server (default: a free one)")
    parser.add_argument("--token", action="append", default=[], help="an accepted token (repeatable)")
    args = parser.parse_args(argv)
    server = HubStandIn(args.root, args.port, args.cdn_port, {t: f"user{i}" for i, t in enumerate(args.token)})
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill` stops it as Ctrl-C does: servers closed
    with server:
        print(f"serving {Path(args.root).resolve()} at {server.url} (LFS files from {server.cdn_url})", flush=True)
        print(f"use it with: HF_ENDPOINT={server.url} python -m bre_core evaluate ...", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
