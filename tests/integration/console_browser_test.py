#!/usr/bin/env python3
"""The web console in a real browser: three gateways of config/examples/demo-3.yaml with
remote management on, headless Chromium (Debian `chromium`) on the client's namespace,
driven through the Chrome DevTools protocol (tools/cdp.py). The browser trusts exactly
the gateways' self-signed certificate (its SPKI pinned), nothing else. It:
  - loads https://198.18.0.1:8443/ (the console's files come from ringgated itself);
  - logs in as the admin by typing into the form;
  - sees the three members and the four VIPs in the DOM, and the VIP table;
  - drags a VIP's icon onto another gateway with real mouse events;
  - sees the move on the cluster (`ringgatectl vips` on another node's socket) and on the
    page; then saves a screenshot (docs/console.png with --screenshot PATH);
  - logs out and in as the read-only user: the Edit menu's changes are disabled and a
    drag moves nothing.
Needs root (namespaces, XDP) and chromium; exit 77 without them."""
import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import time

from cdp import Browser
from cluster_harness import SOURCE, Cluster, private_config, require_root, unique_name
from topology import Topology, wait_until

EXAMPLE = SOURCE / "config" / "examples" / "demo-3.yaml"
CHROMIUM = "/usr/bin/chromium"
VIP = "198.18.0.101"  # persistence 1: stays where the operator puts it (0 may be balanced back)
SETTLE = 15


def spki_pin(cert):
    """base64(SHA-256(SubjectPublicKeyInfo)): what --ignore-certificate-errors-spki-list pins."""
    pub = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-pubkey"], capture_output=True,
                         check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub, capture_output=True,
                         check=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def owner_of(cluster, node, vip):
    return next(v for v in cluster.query(node, "vips")["vips"] if v["vip"] == vip)["current_host"]


def main():
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser()
    parser.add_argument("--screenshot", help="also save the screenshot here (e.g. docs/console.png)")
    options = parser.parse_args()
    require_root()
    if not shutil.which(CHROMIUM):
        print("SKIP: chromium is not installed (tools/install-deps.sh installs it)")
        return 77
    with Topology.create(unique_name("console"), gateways=3, clients=1, backends=2, files=["1k"]) as topo:
        work = topo.work_dir
        config = private_config(EXAMPLE, work)
        client = topo.clients()[0]
        with Cluster(config, work, topo) as cluster:
            for node in (1, 2, 3):
                cluster.start(node)
            wait_until(lambda: all(len(cluster.query(n, "members")["members"]) == 3 for n in (1, 2, 3)), SETTLE,
                       "three members")
            wait_until(lambda: all(v["current_host"] for v in cluster.query(1, "vips")["vips"]), SETTLE,
                       "every VIP held")
            # Some traffic, so that the load bars and rates show something.
            topo.spawn(client, ["sh", "-c", "while :; do curl -s -o /dev/null --max-time 2 http://198.18.0.100/1k; "
                                            "curl -s -o /dev/null --max-time 2 http://198.18.0.101/1k; sleep 0.05; done"])

            pin = spki_pin(work / "management-cert.pem")
            browser = Browser(lambda cmd, **kw: topo.spawn(client, cmd, log_path=work / "chromium.log", **kw),
                              work / "chromium-profile",
                              [f"--ignore-certificate-errors-spki-list={pin}", "--window-size=1280,1000"])
            try:
                page = browser.page()
                page.call("Emulation.setDeviceMetricsOverride", width=1280, height=1000, deviceScaleFactor=1,
                          mobile=False)
                page.call("Page.navigate", url="https://198.18.0.1:8443/")
                page.wait_for("document.readyState === 'complete' && !!document.querySelector('#login:not([hidden])')",
                              20, "the login form")
                assert page.evaluate("document.querySelector('#app').hidden") is True
                print("ok   the console's login form loads from https://198.18.0.1:8443/")

                page.type_into("#user", "admin")
                page.type_into("#password", "wrong-password")
                page.click("#login-button")
                page.wait_for("document.querySelector('#login-error').textContent.includes('wrong')", 10,
                              "the wrong password refused")
                page.evaluate("document.querySelector('#user').value = ''; document.querySelector('#password').value = ''")
                page.type_into("#user", "admin")
                page.type_into("#password", "demo-admin")
                page.click("#login-button")
                page.wait_for("document.querySelectorAll('#members .node').length === 3", 15, "three gateways")
                page.wait_for("document.querySelectorAll('#members .vip').length === 4", 15, "four VIP icons")
                print("ok   logged in (after a wrong password was refused); 3 gateways and 4 VIPs in the DOM")

                def dom_matches():
                    """The page's icons per gateway equal the cluster's table (the page polls
                    every second and the balancer may move a VIP meanwhile: retried)."""
                    dom = json.loads(page.evaluate(
                        "JSON.stringify([...document.querySelectorAll('#members .node')].map(n => "
                        "({node: Number(n.dataset.node), state: n.querySelector('.state').textContent, "
                        "vips: [...n.querySelectorAll('.vip')].map(v => v.dataset.vip)})))"))
                    truth = cluster.query(2, "vips")["vips"]
                    same = all(card["state"] in ("member", "holding-token") and
                               sorted(card["vips"]) == sorted(v["vip"] for v in truth
                                                              if v["current_host"] == card["node"])
                               for card in dom)
                    matched[:] = dom if same else []
                    return same
                matched = []
                wait_until(dom_matches, 10, "the page's VIP icons matching the cluster's table", interval=0.3)
                dom = list(matched)
                rows = page.evaluate("document.querySelectorAll('#vip-table tbody tr').length")
                assert rows == 4, rows
                print(f"ok   each gateway's VIP icons match the cluster's table: {dom}")

                before = owner_of(cluster, 2, VIP)
                target = 1 + before % 3
                page.drag(f"#members .vip[data-vip='{VIP}']", f"#members .node[data-node='{target}'] .chips")
                wait_until(lambda: owner_of(cluster, 2, VIP) == target, SETTLE,
                           f"{VIP} on node {target} after the drag")
                def line_on_node_3():
                    text = cluster.ctl(3, "vips").stdout  # the text view, as an operator reads it
                    return next(l for l in text.splitlines() if l.startswith(VIP))
                wait_until(lambda: line_on_node_3().split()[1] == str(target), SETTLE,
                           f"`ringgatectl vips` on node 3 showing {VIP} on node {target}")
                line = line_on_node_3()
                page.wait_for(f"!!document.querySelector(\"#members .node[data-node='{target}'] .vip[data-vip='{VIP}']\")",
                              10, "the page showing the VIP on its new gateway")
                assert "operator user admin (admin) from 198.18.0.201: move" in cluster.nodes[1].log()
                print(f"ok   dragged {VIP} from node {before} to node {target}: `ringgatectl vips` on node 3: {line}")

                # Live rates: the page polls; bytes/s of the VIPs under load show up.
                page.wait_for("document.querySelector('#rate-tokens').textContent.endsWith('/s')", 10, "token rate")
                time.sleep(10)  # a few seconds of history in the rates' graph
                shot = work / "console.png"
                page.screenshot(shot)
                assert shot.stat().st_size > 10000, shot.stat()
                if options.screenshot:
                    shutil.copy(shot, options.screenshot)
                print(f"ok   screenshot {shot} ({shot.stat().st_size} bytes)"
                      + (f", copied to {options.screenshot}" if options.screenshot else ""))
                # Log out (File menu) and in again as the read-only user: the Edit menu's
                # changes are disabled and a drag moves nothing.
                page.click("#menubar .menu:nth-child(1) .menu-title")
                page.click("[data-action='logout']")
                page.wait_for("!document.querySelector('#login').hidden", 10, "the login form after logging out")
                page.evaluate("document.querySelector('#user').value = ''")
                page.type_into("#user", "viewer")
                page.type_into("#password", "demo-viewer")
                page.click("#login-button")
                page.wait_for("document.querySelector('#whoami').textContent === 'viewer (read-only)' && "
                              "!document.querySelector('#app').hidden", 15, "logged in as the viewer")
                page.wait_for("document.querySelectorAll('#members .vip').length === 4", 15, "the viewer's VIP icons")
                disabled = page.evaluate("[...document.querySelectorAll('[data-admin]')].every(b => b.disabled)")
                assert disabled is True, "a read-only user's Edit menu offers changes"
                holder = owner_of(cluster, 2, VIP)
                other = 1 + holder % 3
                page.drag(f"#members .vip[data-vip='{VIP}']", f"#members .node[data-node='{other}'] .chips")
                time.sleep(2)
                assert owner_of(cluster, 2, VIP) == holder, "a read-only user's drag moved a VIP"
                assert f"user viewer (read-only) from 198.18.0.201: move" not in cluster.nodes[1].log()
                print(f"ok   logged out; as the read-only user the Edit menu's changes are disabled and a drag "
                      f"leaves {VIP} on node {holder}")
            finally:
                browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
