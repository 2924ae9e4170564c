"""The production topology on one machine (:mod:`.topology`) under supervisord
(:mod:`.supervision`, with the event listeners of :mod:`.listener`), its `cluster` command and the
officials' `conversations purge` (:mod:`.commands`), the expiry of stored conversations
(:mod:`.retention`). deploy/README.md describes it for operators."""

from trolydvc.cluster.commands import cluster, conversations
from trolydvc.cluster.topology import Cluster, Ports

__all__ = ["Cluster", "Ports", "cluster", "conversations"]
