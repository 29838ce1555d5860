"""An aiosmtpd handler for the Kolo tests: keeps every message as a file and answers some recipients with errors.

Recipients starting with "bounce" get 550 (a permanent refusal), those starting with "tempfail" get 451 (try later).
Run: PYTHONPATH=tests/smtp python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c kolo_smtp_sink.Sink DIR
"""
import os
import time
import uuid


class Sink:
    def __init__(self, directory):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("Sink needs the directory to write messages to")
        return cls(args[0])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.lower()
        if local.startswith("bounce"):
            return "550 5.1.1 No such user here"
        if local.startswith("tempfail"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns()}-{uuid.uuid4().hex}.eml"
        tmp = os.path.join(self.directory, name + ".tmp")
        # The envelope recipients first, so a test can find a message by the address it went to.
        with open(tmp, "wb") as f:
            f.write(("X-Envelope-To: " + ", ".join(envelope.rcpt_tos) + "\r\n").encode("ascii"))
            f.write(envelope.original_content or envelope.content)
        # Renamed when complete: a reader never sees half a message.
        os.rename(tmp, os.path.join(self.directory, name))
        return "250 OK: queued"
