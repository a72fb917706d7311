"""Deterministic realistic MIME messages."""
import base64
import random

WORDS = ("meeting report budget invoice lunch project review draft xmas tax box "
         "quarterly status update minutes agenda proposal contract flexible index "
         "release notes schedule travel expenses feedback design roadmap next week "
         "photos holiday party offer sale deadline reminder question answer").split()
NAMES = ["Alice Martin", "Bob Stone", "Carol Xu", "Dave Lopez", "Eve Kim", "Frank Ode"]


def _text(rng, size):
    lines, n = [], 0
    while n < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12)))
        lines.append(line)
        n += len(line) + 2
    return "\r\n".join(lines) + "\r\n"


def _b64(rng, size):
    raw = rng.randbytes(max(1, size * 3 // 4))
    enc = base64.b64encode(raw).decode()
    return "\r\n".join(enc[i:i + 76] for i in range(0, len(enc), 76)) + "\r\n"


def make(rng, i, size, to="user@example.com"):
    """A MIME message of about `size` bytes: text, sometimes HTML alternative,
    and above 8 KB a base64 attachment carrying most of the size."""
    frm = rng.choice(NAMES)
    subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6)))
    b = f"b{i:06d}{rng.randrange(1 << 30):x}"
    hdr = (f"From: {frm} <{frm.split()[0].lower()}@example.org>\r\n"
           f"To: <{to}>\r\n"
           f"Cc: {rng.choice(NAMES)} <cc@example.net>\r\n"
           f"Subject: {subject}\r\n"
           f"Date: Mon, {1 + i % 28:02d} Jun 2026 {i % 24:02d}:{i % 60:02d}:00 +0000\r\n"
           f"Message-ID: <bench.{i}.{rng.randrange(1 << 40):x}@example.org>\r\n"
           f"MIME-Version: 1.0\r\n"
           f"Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n")
    text_size = min(size, rng.randint(400, 4000))
    body = [f"--{b}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n\r\n" + _text(rng, max(100, text_size - len(hdr)))]
    rest = size - len(hdr) - sum(map(len, body))
    if rest > 2000 and rng.random() < 0.4:
        h = min(rest // 2, 6000)
        body.append(f"--{b}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
                    f"<html><body><p>{_text(rng, h)}</p></body></html>\r\n")
        rest -= h
    if rest > 1000:
        kind = rng.choice(["application/pdf", "image/jpeg", "application/zip"])
        body.append(f"--{b}\r\nContent-Type: {kind}; name=\"file{i}\"\r\n"
                    f"Content-Disposition: attachment; filename=\"file{i}\"\r\n"
                    f"Content-Transfer-Encoding: base64\r\n\r\n" + _b64(rng, rest - 200))
    body.append(f"--{b}--\r\n")
    return (hdr + "".join(body)).encode()


def logsize(rng, lo, hi):
    return int(lo * (hi / lo) ** rng.random())


def corpus(n, lo, hi, seed, to="user@example.com"):
    rng = random.Random(seed)
    return [make(rng, i, logsize(rng, lo, hi), to) for i in range(n)]
