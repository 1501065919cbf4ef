"""Drives the real huggingface_hub / transformers / safetensors against a modeldao Hub endpoint.

Reads {"ops": [...]} as JSON on stdin, runs each op in order in this one process (HF_ENDPOINT, HF_HOME
and HF_TOKEN come from the environment, as for any user), prints one JSON result per op as a list.
Every op reports the HTTP requests huggingface_hub made while it ran (an httpx event hook installed
through huggingface_hub's own set_client_factory), so the test can see what came from the cache.
"""

import hashlib
import json
import os
import sys
import time
import traceback

import huggingface_hub
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.utils import _http as hf_http

REQUESTS = []


def _record(request):
    REQUESTS.append(f"{request.method} {request.url}")


def _factory():
    client = hf_http.default_client_factory()
    client.event_hooks["request"].append(_record)
    return client


huggingface_hub.set_client_factory(_factory)


class _ShortBackoffTime:
    """huggingface_hub waits 1, 2, 4, 8, 8 s between its retries of a 5xx (http_backoff): 23 s of
    sleep per refused file. The tests look at the retries and what they get, not at how long the
    client waits between them, so this client waits a hundredth of that."""

    def __getattr__(self, name):
        return getattr(time, name)

    @staticmethod
    def sleep(seconds):
        time.sleep(seconds / 100)


hf_http.time = _ShortBackoffTime()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tensors_of(path):
    from safetensors import safe_open

    out = {}
    with safe_open(path, framework="np") as f:
        for name in f.keys():
            t = f.get_tensor(name)
            out[name] = {"dtype": str(t.dtype), "shape": list(t.shape), "sha256": hashlib.sha256(t.tobytes()).hexdigest()}
    return out


def describe_dir(root):
    files = {}
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            full = os.path.join(dirpath, n)
            rel = os.path.relpath(full, root)
            entry = {"sha256": sha256_file(full), "size": os.path.getsize(full)}
            if n.endswith(".safetensors"):
                entry["tensors"] = tensors_of(full)
            files[rel] = entry
    return files


def run(op):
    kind = op["op"]
    if kind == "snapshot":
        path = snapshot_download(op["repo"], revision=op.get("revision"))
        return {"path": path, "commit": os.path.basename(path), "files": describe_dir(path)}
    if kind == "file":
        path = hf_hub_download(op["repo"], op["filename"], revision=op.get("revision"))
        return {"path": path, "sha256": sha256_file(path)}
    if kind == "info":
        info = HfApi().model_info(op["repo"], revision=op.get("revision"), files_metadata=True)
        return {
            "id": info.id,
            "sha": info.sha,
            "gated": info.gated,
            "private": info.private,
            "last_modified": info.last_modified.isoformat() if info.last_modified else None,
            "license": getattr(info.card_data, "license", None) if info.card_data else None,
            "siblings": None
            if info.siblings is None
            else [
                {"rfilename": s.rfilename, "size": s.size, "lfs_sha256": s.lfs.sha256 if s.lfs else None, "lfs_size": s.lfs.size if s.lfs else None}
                for s in info.siblings
            ],
        }
    if kind == "tree":
        return {"paths": sorted(f.path for f in HfApi().list_repo_tree(op["repo"], revision=op.get("revision"), recursive=True))}
    if kind == "autoconfig":
        from transformers import AutoConfig

        c = AutoConfig.from_pretrained(op["repo"], revision=op.get("revision"))
        return {"class": type(c).__name__, "model_type": c.model_type, "vocab_size": c.vocab_size, "tie_word_embeddings": c.tie_word_embeddings}
    if kind == "autotokenizer":
        from transformers import AutoTokenizer

        t = AutoTokenizer.from_pretrained(op["repo"], revision=op.get("revision"))
        ids = t(op.get("text", "Hello world"))["input_ids"]
        return {"class": type(t).__name__, "ids": ids, "decoded": t.decode(ids), "eos": t.eos_token}
    if kind == "exists":
        return {"exists": os.path.exists(op["path"]), "entries": sorted(os.listdir(op["path"])) if os.path.isdir(op["path"]) else []}
    raise ValueError(f"unknown op {kind}")


def main():
    ops = json.load(sys.stdin)["ops"]
    results = []
    for op in ops:
        before = len(REQUESTS)
        try:
            r = run(op)
            r["ok"] = True
        except Exception as e:  # report every failure with the client's own exception class
            r = {
                "ok": False,
                "error": type(e).__name__,
                "mro": [c.__name__ for c in type(e).__mro__],
                "message": str(e)[:2000],
                "cause": type(e.__cause__).__name__ if e.__cause__ else None,
                "cause_message": str(e.__cause__)[:2000] if e.__cause__ else None,
                "trace": traceback.format_exc()[-1500:],
            }
        r["requests"] = REQUESTS[before:]
        results.append(r)
    json.dump({"huggingface_hub": huggingface_hub.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
