#!/usr/bin/env python3
"""Writes an OCI image layout whose layers are tar archives built member by member, for tests
that need layers ksimg itself would never write (hostile members, whiteouts, opaque dirs).

usage: make_layout.py LAYOUT TAG SPEC.json
SPEC: {"layers": [[member, ...], ...], "env": [...]} where a member is
  {"name": "a/b", "type": "file"|"dir"|"symlink"|"hardlink"|"chr"|"fifo",
   "data": "text", "target": "...", "mode": 420}
Layers are uncompressed (media type ...layer.v1.tar), so diff_id == blob digest.
"""
import hashlib, io, json, os, sys, tarfile

def member(tf, m):
    ti = tarfile.TarInfo(m["name"])
    ti.mtime = 0
    kind = m.get("type", "file")
    ti.mode = m.get("mode", 0o755 if kind == "dir" else 0o644)
    data = None
    if kind == "file":
        data = m.get("data", "").encode()
        ti.size = len(data)
    elif kind == "dir":
        ti.type = tarfile.DIRTYPE
    elif kind == "symlink":
        ti.type, ti.linkname = tarfile.SYMTYPE, m["target"]
    elif kind == "hardlink":
        ti.type, ti.linkname = tarfile.LNKTYPE, m["target"]
    elif kind == "chr":
        ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, 1, 3
    elif kind == "fifo":
        ti.type = tarfile.FIFOTYPE
    tf.addfile(ti, io.BytesIO(data) if data is not None else None)

def blob(root, data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(root, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)

def main():
    root, tag, spec = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    layers, diff_ids = [], []
    for members in spec["layers"]:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
            for m in members:
                member(tf, m)
        d, n = blob(root, buf.getvalue())
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": n})
        diff_ids.append(d)
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Env": spec.get("env", ["PATH=/bin"]), "Cmd": ["sh"], "WorkingDir": spec.get("workdir", "/")},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    cd, cn = blob(root, json.dumps(config).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cn},
                "layers": layers}
    md, mn = blob(root, json.dumps(manifest).encode())
    index_path = os.path.join(root, "index.json")
    index = json.load(open(index_path)) if os.path.exists(index_path) else {"schemaVersion": 2, "manifests": []}
    index["manifests"] = [m for m in index["manifests"]
                          if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag]
    index["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": mn,
                               "annotations": {"org.opencontainers.image.ref.name": tag}})
    with open(index_path, "w") as f:
        json.dump(index, f)
    print(md)

main()
