"""kombu's file-system transport, with messages written atomically.

The stock transport creates a message file, then writes it; a worker polling in between moves
and reads an empty file and its consumer fails on the JSON (seen as soon as polling is quick).
Here a message is written under a name no reader matches, then renamed into place, which is
atomic on one file system. Used by the embedded default (`CELERY_BROKER_URL=filesystem://`).
"""

import os
import uuid
from time import monotonic

from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: dict, **kwargs: object) -> None:
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.part"  # readers only take names ending in ".<queue>.msg"
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
