"""The lock object of a remote run directory, `R/.lock.json` (see `run_lock`).

It holds the owner's record and a heartbeat, rewritten every `interval` seconds by a
daemon thread while the lock is held, and is removed at release.

* s3:// through s3fs: created with a conditional PUT (`If-None-Match: *`), replaced (a
  takeover, each heartbeat) with `If-Match: <the ETag read>`: of two racing writers the
  server lets one win (AWS S3, Ceph RGW). Every write is then read back and compared to
  this process's token, which also catches a race on a server that ignores conditions.
  The heartbeat's age is measured on the server's clock: the object's LastModified
  against the Date of the response that read it.
* Other remote paths (hdfs://, gs://, s3:// through TensorFlow): no conditions: write,
  read back and compare; the age is that of the heartbeat time in the record.

Example:

    lock = RemoteLock("s3://bucket/runs/a", record, stale=60.0)
    lock.acquire()        # RunDirBusyError / UnwritablePathError
    lock.release()
"""

from __future__ import annotations

import datetime
import email.utils
import hashlib
import json
import logging
import threading
import time
from typing import Any

from keras_lstm_opt.data import fs
from keras_lstm_opt.errors import RunDirBusyError
from keras_lstm_opt.training.run_lock import (
    REMOTE_FILE,
    Owner,
    busy_message,
    cannot_write,
    gone_here,
    parse_record,
)

log = logging.getLogger("keras_lstm_opt")
Read = tuple[bytes, str, float | None]  # the object, its ETag (or digest), its age


class Conflict(Exception):
    """A conditional write lost: another process wrote the lock object first."""


def _reason(exc: BaseException) -> str:
    """What the server said (its error code and message), else the error's own text."""
    from keras_lstm_opt.data.storage import error_text

    response = getattr(getattr(exc, "__cause__", None), "response", None) or {}
    error = response.get("Error") or {}
    if error.get("Code"):
        message = error.get("Message")
        return f"{error['Code']}{f': {message}' if message else ''}"
    return error_text(exc) or type(exc).__name__


def _code(exc: BaseException) -> str:
    cause = getattr(exc, "__cause__", None)
    response = getattr(cause, "response", None) or {}
    status = str((response.get("ResponseMetadata") or {}).get("HTTPStatusCode", ""))
    return str((response.get("Error") or {}).get("Code", "")) or status


class S3Store:
    """The lock object through s3fs, with conditional writes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.bucket, self.key = url.removeprefix("s3://").split("/", 1)

    def get(self) -> Read | None:
        from fsspec.asyn import sync

        s3 = fs.s3()
        try:
            resp = s3.call_s3("get_object", Bucket=self.bucket, Key=self.key)
        except FileNotFoundError:
            return None

        async def body() -> bytes:
            async with resp["Body"] as stream:
                return bytes(await stream.read())

        data = sync(s3.loop, body)
        age = None
        date = (resp.get("ResponseMetadata") or {}).get("HTTPHeaders", {}).get("date")
        modified = resp.get("LastModified")
        if date and isinstance(modified, datetime.datetime):
            age = max((email.utils.parsedate_to_datetime(date) - modified).total_seconds(), 0.0)
        return data, str(resp.get("ETag", "")), age

    def put(self, data: bytes, match: str | None) -> str:
        """Write if the object is absent (`match` None) or still has the ETag `match`.
        The ETag goes unquoted first (Ceph 16's RGW compares it as it is), then quoted
        (HTTP's own form)."""
        if match is None:
            return self._put(data, {"IfNoneMatch": "*"})
        try:
            return self._put(data, {"IfMatch": match.strip('"')})
        except Conflict:
            return self._put(data, {"IfMatch": f'"{match.strip(chr(34))}"'})

    def _put(self, data: bytes, condition: dict[str, str]) -> str:
        try:
            resp = fs.s3().call_s3("put_object", Bucket=self.bucket, Key=self.key, Body=data,
                                   ContentType="application/json", **condition)
        except FileExistsError:
            raise Conflict() from None
        except OSError as exc:
            if _code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "412",
                              "409"):
                raise Conflict() from None
            raise
        return str(resp.get("ETag", ""))

    def delete(self) -> None:
        fs.s3().call_s3("delete_object", Bucket=self.bucket, Key=self.key)


class FsStore:
    """The lock object through `fs`, unconditioned (read back and compared)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self) -> Read | None:
        if not fs.exists(self.url):
            return None
        try:
            with fs.open(self.url, "rb") as fh:
                data = bytes(fh.read())
        except FileNotFoundError:
            return None
        record = parse_record(data) or {}
        beat = record.get("heartbeat_unix")
        age = max(time.time() - beat, 0.0) if isinstance(beat, int | float) else None
        return data, hashlib.sha256(data).hexdigest(), age

    def put(self, data: bytes, match: str | None) -> str:
        now = self.get()
        if (now is not None) if match is None else (now is None or now[1] != match):
            raise Conflict()
        with fs.open(self.url, "wb") as fh:
            fh.write(data)
        return hashlib.sha256(data).hexdigest()

    def delete(self) -> None:
        fs.remove(self.url)


def _store(url: str) -> S3Store | FsStore:
    return S3Store(url) if fs.s3fs_path(url) else FsStore(url)


def _age(read: Read, record: dict[str, Any]) -> float:
    if read[2] is not None:
        return read[2]
    beat = record.get("heartbeat_unix")
    return max(time.time() - beat, 0.0) if isinstance(beat, int | float) else float("inf")


def remote_owner(run_dir: str, stale: float) -> Owner | None:
    """The owner of a remote run directory's lock while its heartbeat is fresh."""
    read = _store(f"{run_dir}/{REMOTE_FILE}").get()
    record = parse_record(read[0]) if read else None
    if read is None or record is None:
        return None
    age = _age(read, record)
    return None if gone_here(record) or age >= stale else Owner.of(record, age)


class RemoteLock:
    """The lock object of `run_dir`, its heartbeat thread while held."""

    def __init__(self, run_dir: str, record: dict[str, Any], stale: float) -> None:
        self.run_dir, self.record, self.stale = run_dir, dict(record), stale
        self.url = f"{run_dir}/{REMOTE_FILE}"
        self.store = _store(self.url)
        self.interval = min(10.0, stale / 4)
        self.etag = ""
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def _data(self) -> bytes:
        now = time.time()
        self.record["heartbeat_unix"] = round(now, 3)
        self.record["heartbeat"] = datetime.datetime.fromtimestamp(now).astimezone() \
            .isoformat(timespec="seconds")
        return json.dumps(self.record).encode("utf-8")

    def acquire(self) -> None:
        try:
            self._acquire()
        except RunDirBusyError:
            raise
        except Exception as exc:  # OSError; TensorFlow's own errors through FsStore
            if not isinstance(exc, OSError) and not isinstance(self.store, FsStore):
                raise
            raise cannot_write(self.run_dir, exc, self.url,
                               reason=None if isinstance(self.store, FsStore) else
                               _reason(exc)) from None
        self.thread = threading.Thread(target=self._beat, name="klo-run-lock", daemon=True)
        self.thread.start()

    def _busy(self, who: Owner) -> RunDirBusyError:
        return RunDirBusyError(busy_message(self.run_dir, who), who.pid, who.host, who.since)

    def _acquire(self) -> None:
        for _ in range(5):
            read = self.store.get()
            previous = parse_record(read[0]) if read else None
            age = _age(read, previous) if read and previous else None
            if previous and age is not None and not gone_here(previous) and age < self.stale:
                raise self._busy(Owner.of(previous, age))
            try:
                self.store.put(self._data(), read[1] if read else None)
            except Conflict:
                continue  # another process wrote it meanwhile: look again
            back = self.store.get()
            mine = parse_record(back[0]) if back else None
            if back is None or mine is None or mine.get("token") != self.record["token"]:
                continue  # a server without conditions let another writer win
            self.etag = back[1]
            if previous:
                how = "which is gone" if gone_here(previous) else \
                    f"whose heartbeat stopped {age:.0f} s ago"
                log.warning("%s: took over the lock of PID %s on %s, %s", self.run_dir,
                            previous.get("pid"), previous.get("host"), how)
            return
        read = self.store.get()
        record = parse_record(read[0]) if read else None
        raise self._busy(Owner.of(record, _age(read, record)) if read and record
                         else Owner(None, "?", "?"))

    def _beat(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                self.etag = self.store.put(self._data(), self.etag)
            except Conflict:
                read = self.store.get()
                record = parse_record(read[0]) if read else None
                log.error("lost the lock of %s to %s; this process's heartbeat was late "
                          "(more than %.0f s): stop one of them", self.run_dir,
                          f"PID {record.get('pid')} on {record.get('host')}" if record
                          else "another process", self.stale)
                return
            except Exception as exc:  # noqa: BLE001  (a network blip: beat again later)
                log.debug("heartbeat of %s failed: %s", self.url, exc)

    def release(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=30)
        try:
            read = self.store.get()
            record = parse_record(read[0]) if read else None
            if record is not None and record.get("token") == self.record["token"]:
                self.store.delete()
        except Exception as exc:  # noqa: BLE001  (the run is over; the lock goes stale)
            log.warning("could not remove the lock %s: %s", self.url, exc)
