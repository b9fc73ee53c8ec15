"""Child process for the durability test: commit observations one at a time, printing each id once committed.

The test kills this process with SIGKILL part-way and then checks that every printed id is in the file.
It stops by itself after ``LIMIT`` rows, so a test that fails to kill it leaves nothing running.
"""

import sys

from xface.journal.store import Journal

LIMIT = 50_000


def main(path: str) -> None:
    journal = Journal(path)
    session = journal.start_session("live")
    for step in range(LIMIT):
        row = {"t": step / 30, "face_id": step % 3, "probs": {"happy": 0.8, "neutral": 0.2}, "emotion": "happy"}
        (observation_id,) = journal.add_observations(session, [row])
        print(observation_id, flush=True)
    journal.close()


if __name__ == "__main__":
    main(sys.argv[1])
