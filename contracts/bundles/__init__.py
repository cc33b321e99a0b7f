"""Bundled payments: episodes from claims (TEAM, BPCI Advanced, a commercial bundle), spending
by setting, target prices, reconciliation and its distribution."""
