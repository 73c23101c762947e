"""One-shot signer for tests/it/builders.rs: PyPI's `imgproxy` package (installed by
scripts/url-builders.sh) signs each case.

stdin: {"endpoint": "...", "key": HEX, "salt": HEX,
        "cases": [{"url": SOURCE, "params": {ImgProxy fields}, "advanced": ["q:70", ...]}]}
stdout: one URL per case, in order. The package always writes the source in base64 and
`g:GRAVITY/rs:TYPE:W:H:ENLARGE` after the advanced options.
"""
import json
import sys

from imgproxy import ImgProxy

spec = json.load(sys.stdin)
for case in spec["cases"]:
    url = ImgProxy(case["url"], proxy_host=spec["endpoint"], key=spec["key"],
                   salt=spec["salt"], **case.get("params", {}))
    print(url(*case.get("advanced", [])))
