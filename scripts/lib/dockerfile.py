"""Reads the Dockerfile for scripts/docker-build.sh (which runs it without Docker).

  dockerfile.py parse DOCKERFILE STAGING
      prints bash assignments: the builder stages' steps in order (`COPY ...` lines and
      the RUN lines that call scripts/build-release.sh, with /staging replaced by
      STAGING; other RUN lines, e.g. apt-get, are listed in `skipped`), their ENV, and
      the runtime stage's WORKDIR, USER, ENV, EXPOSE, CMD and HEALTHCHECK CMD.
  dockerfile.py copy CONTEXT WORKDIR SRC... DEST
      does what `COPY SRC... DEST` does in a build whose context is CONTEXT (the files
      git knows of, less the .dockerignore patterns), into WORKDIR; mtimes are kept.
"""
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys


def instructions(path):
    lines, cur = [], ""
    for raw in open(path):
        s = raw.rstrip("\n")
        if s.lstrip().startswith("#") or (not cur and not s.strip()):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        lines.append((cur + s).strip())
        cur = ""
    for line in lines:
        word, _, rest = line.partition(" ")
        yield word.upper(), rest.strip()


def parse(dockerfile, staging):
    stages = []
    for word, rest in instructions(dockerfile):
        if word == "FROM":
            stages.append({"steps": [], "skipped": [], "env": {}, "workdir": "/", "user": "",
                           "expose": [], "cmd": None, "health": None})
            continue
        st = stages[-1]
        if word == "RUN":
            if "scripts/build-release.sh" in rest:
                st["steps"].append("RUN " + rest.replace("/staging", staging))
            else:
                st["skipped"].append(rest)
        elif word == "COPY":
            if "--from=" in rest:
                continue  # runtime stage: the staging folder stands for it
            st["steps"].append("COPY " + rest)
        elif word == "ENV":
            for tok in shlex.split(rest):
                k, _, v = tok.partition("=")
                st["env"][k] = v
        elif word == "WORKDIR":
            st["workdir"] = rest
        elif word == "USER":
            st["user"] = rest.split(":")[0]
        elif word == "EXPOSE":
            st["expose"] += [p.split("/")[0] for p in rest.split()]
        elif word == "CMD":
            st["cmd"] = json.loads(rest)
        elif word == "HEALTHCHECK":
            m = re.search(r"\bCMD\s+(\[.*\])\s*$", rest)
            st["health"] = json.loads(m.group(1)) if m else None
    builders, rt = stages[:-1], stages[-1]
    steps = [s for b in builders for s in b["steps"]]
    assert any("build-release.sh" in s for s in steps), "no RUN calls scripts/build-release.sh"
    assert rt["cmd"] and rt["health"], "the runtime stage needs CMD and HEALTHCHECK CMD (exec form)"
    q = shlex.quote
    arr = lambda name, xs: print(f"{name}=(" + " ".join(map(q, xs)) + ")")
    arr("steps", steps)
    arr("skipped", [s for b in builders for s in b["skipped"]])
    arr("build_env", [f"{k}={v}" for b in builders for k, v in b["env"].items()])
    arr("image_env", [f"{k}={v}" for k, v in rt["env"].items()])
    arr("expose", rt["expose"])
    arr("cmd", rt["cmd"])
    arr("health", rt["health"])
    print(f"workdir={q(rt['workdir'])} user={q(rt['user'])} "
          f"build_workdir={q(builders[-1]['workdir'])} image_port={q(rt['env'].get('PORT', ''))}")


def context_files(context):
    out = subprocess.run(["git", "-C", context, "ls-files", "-co", "--exclude-standard", "-z"],
                         check=True, capture_output=True).stdout.decode()
    patterns = []
    ignore = os.path.join(context, ".dockerignore")
    if os.path.exists(ignore):
        for line in open(ignore):
            line = line.strip()
            if line and not line.startswith("#"):
                patterns.append(line.rstrip("/"))

    def ignored(path):
        for p in patterns:
            if p.startswith("**/"):
                if any(fnmatch.fnmatch(part, p[3:]) for part in path.split("/")):
                    return True
            elif fnmatch.fnmatch(path, p) or path.startswith(p + "/"):
                return True
            elif "/" not in p and fnmatch.fnmatch(os.path.basename(path), p) and p.startswith("*"):
                return True
        return False

    return [f for f in out.split("\0") if f and os.path.isfile(os.path.join(context, f))
            and not ignored(f)]


def copy(context, workdir, args):
    *srcs, dest = args
    files = context_files(context)
    dest_dir = os.path.join(workdir, dest)
    for src in srcs:
        src = os.path.normpath(src)
        picked = [f for f in files if src == "." or f == src or f.startswith(src + "/")]
        if not picked:
            sys.exit(f"COPY {src}: not in the build context")
        for f in picked:
            if src == ".":
                rel = f
            elif f == src:
                rel = os.path.basename(f) if dest.endswith("/") or len(srcs) > 1 else ""
            else:
                rel = os.path.relpath(f, src)
            target = os.path.join(dest_dir, rel) if rel else os.path.join(workdir, dest)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(os.path.join(context, f), target)


if __name__ == "__main__":
    if sys.argv[1] == "parse":
        parse(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "copy":
        copy(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit(__doc__)
