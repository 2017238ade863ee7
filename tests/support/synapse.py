"""The throwaway Synapse lives in bot.demo.synapse (`opsbot demo` starts one too)."""

from bot.demo.synapse import SynapseServer, free_port

__all__ = ["SynapseServer", "free_port"]
