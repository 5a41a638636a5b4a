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

A heartbeat that finds the object replaced (this process stalled past the stale limit
and another took the lock over) sets `RemoteLock.lost`; training stops after the step in
flight and writes nothing more there (`EpochLoop`, `FitSession`).

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

from keras_lstm_opt.errors import RunDirBusyError
from keras_lstm_opt.io import fs
from keras_lstm_opt.training.run_lock_owner import (
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
    from keras_lstm_opt.io.storage import error_text

    response = getattr(getattr(exc, "__cause__", None), "response", None) or {}
    error = response.get("Error") or {}
    if error.get("Code"):
        message = error.get("Message")
        return f"{error['Code']}{f': {message}' if message else ''}"
    return error_text(exc) or type(exc).__name__


def _code(exc: BaseException) -> str:
    """The S3 error code behind an s3fs error ("PreconditionFailed"), else its HTTP
    status ("412"), '' when neither is known: how a lost conditional write is told."""
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
        """The object, its ETag and its age on the server's clock; None when absent."""
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
        """One PUT under `condition`; its new ETag, or `Conflict` when the server refused
        the condition (412, 409)."""
        try:
            resp = fs.s3().call_s3(
                "put_object",
                Bucket=self.bucket,
                Key=self.key,
                Body=data,
                ContentType="application/json",
                **condition,
            )
        except FileExistsError:
            raise Conflict() from None
        except OSError as exc:
            if _code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
                raise Conflict() from None
            raise
        return str(resp.get("ETag", ""))

    def delete(self) -> None:
        """Remove the object (unconditionally: the caller checked that it is its own)."""
        fs.s3().call_s3("delete_object", Bucket=self.bucket, Key=self.key)


class FsStore:
    """The lock object through `fs`, unconditioned (read back and compared)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self) -> Read | None:
        """The object, its SHA-256 (as its ETag) and the age of the record's heartbeat;
        None when absent."""
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
        """Write if the object is absent (`match` None) or its digest is still `match`:
        checked, then written (not atomic: `acquire` reads back)."""
        now = self.get()
        if (now is not None) if match is None else (now is None or now[1] != match):
            raise Conflict()
        with fs.open(self.url, "wb") as fh:
            fh.write(data)
        return hashlib.sha256(data).hexdigest()

    def delete(self) -> None:
        """Remove the object."""
        fs.remove(self.url)


def _store(url: str) -> S3Store | FsStore:
    """The store of the lock object `url`: conditional writes through s3fs for s3://
    (unless s3:// goes through TensorFlow), read-back-and-compare for the rest."""
    return S3Store(url) if fs.s3fs_path(url) else FsStore(url)


def _age(read: Read, record: dict[str, Any]) -> float:
    """Seconds since the lock's last heartbeat: the server's own measure when the store
    gave one, else the record's `heartbeat_unix` against this clock (inf without one)."""
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
    """The lock object of `run_dir`, its heartbeat thread while held.

    `lost` is set (a sentence naming the new owner) when a heartbeat finds the object
    replaced: this process stalled past `stale` and another took the lock over. The
    training loop reads it (`RunLock.lost`) and stops after the step in flight, writing
    nothing more into the run directory, which is the other process's now."""

    def __init__(self, run_dir: str, record: dict[str, Any], stale: float) -> None:
        self.run_dir, self.record, self.stale = run_dir, dict(record), stale
        self.url = f"{run_dir}/{REMOTE_FILE}"
        self.store = _store(self.url)
        self.interval = min(10.0, stale / 4)
        self.etag = ""
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.lost: str | None = None

    def _data(self) -> bytes:
        """This process's record with a fresh heartbeat, as the object's bytes."""
        now = time.time()
        self.record["heartbeat_unix"] = round(now, 3)
        self.record["heartbeat"] = (
            datetime.datetime.fromtimestamp(now).astimezone().isoformat(timespec="seconds")
        )
        return json.dumps(self.record).encode("utf-8")

    def acquire(self) -> None:
        """Take the lock (see `_acquire`) and start the heartbeat.

        Raises:
            RunDirBusyError: another live process holds it.
            UnwritablePathError: the object cannot be read or written.
        """
        try:
            self._acquire()
        except RunDirBusyError:
            raise
        except Exception as exc:  # OSError; TensorFlow's own errors through FsStore
            if not isinstance(exc, OSError) and not isinstance(self.store, FsStore):
                raise
            raise cannot_write(
                self.run_dir,
                exc,
                self.url,
                reason=None if isinstance(self.store, FsStore) else _reason(exc),
            ) from None
        self.thread = threading.Thread(target=self._beat, name="klo-run-lock", daemon=True)
        self.thread.start()

    def _busy(self, who: Owner) -> RunDirBusyError:
        """The refusal naming `who`."""
        return RunDirBusyError(busy_message(self.run_dir, who), who.pid, who.host, who.since)

    def _acquire(self) -> None:
        """Create the object, or replace one that is stale or whose owner is gone here;
        five tries against racing writers, then the refusal naming the winner."""
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
                how = (
                    "which is gone"
                    if gone_here(previous)
                    else f"whose heartbeat stopped {age:.0f} s ago"
                )
                log.warning(
                    "%s: took over the lock of PID %s on %s, %s",
                    self.run_dir,
                    previous.get("pid"),
                    previous.get("host"),
                    how,
                )
            return
        read = self.store.get()
        record = parse_record(read[0]) if read else None
        raise self._busy(
            Owner.of(record, _age(read, record)) if read and record else Owner(None, "?", "?")
        )

    def _beat(self) -> None:
        """Refresh the heartbeat every `interval` s until released or lost (`lost`)."""
        while not self.stop.wait(self.interval):
            try:
                self.etag = self.store.put(self._data(), self.etag)
            except Conflict:
                read = self.store.get()
                record = parse_record(read[0]) if read else None
                if record is not None and record.get("token") == self.record["token"]:
                    self.etag = read[1] if read else ""  # our own write, retried: still ours
                    continue
                self.lost = self._lost_to(record, read is None)
                log.warning(
                    "%s: the lock was taken over; stopping after the step in flight", self.run_dir
                )
                return
            except Exception as exc:  # noqa: BLE001  (a network blip: beat again later)
                log.debug("heartbeat of %s failed: %s", self.url, exc)

    def _lost_to(self, record: dict[str, Any] | None, removed: bool) -> str:
        """The sentence `lost` holds: who has the lock now, and what to do."""
        if record is None:
            what = (
                "its lock object was removed"
                if removed
                else "its lock object was replaced by another process"
            )
            return (
                f"lost the lock of run directory {self.run_dir}: {what}; check who "
                "writes there before training into it again"
            )
        return (
            f"PID {record.get('pid')} on {record.get('host')} (started "
            f"{record.get('started')}) took over the lock of run directory "
            f"{self.run_dir}, having found this "
            f"process's heartbeat older than {self.stale:g} s; let it finish, or stop "
            "it and train into the run directory again to resume"
        )

    def release(self) -> None:
        """Stop the heartbeat; remove the object while it is still this process's."""
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
