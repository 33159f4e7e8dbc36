#!/usr/bin/env python3
"""Log in to a running `familiar serve` (loopback only) and print the session cookie, for a
load tool. Usage: web-load.py PORT USER PASSWORD TOTP_SECRET"""
import base64, hashlib, hmac, http.cookiejar, re, struct, sys, time, urllib.parse, urllib.request

port, user, password, secret = sys.argv[1:5]
base = f"http://127.0.0.1:{port}"

def totp(secret_b32: str) -> str:
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    o = mac[-1] & 15
    return f"{(struct.unpack('>I', mac[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"

jar = http.cookiejar.CookieJar()
op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
page = op.open(f"{base}/login").read().decode()
csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
body = urllib.parse.urlencode({"csrf": csrf, "next": "/", "username": user, "password": password,
                               "totp": totp(secret)}).encode()
req = urllib.request.Request(f"{base}/login", data=body, headers={"Origin": base, "Sec-Fetch-Site": "same-origin"})
op.open(req).read()
print("; ".join(f"{c.name}={c.value}" for c in jar))
