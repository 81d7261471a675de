"""Pull the files from where units send them: a mailbox (IMAP), an SFTP drop, an object-store
prefix. The local inbox folder stays the embedded default (:mod:`commune_reports.sources`).

- :mod:`.config`: which sources a deployment reads (a TOML file), their connections;
- :mod:`.mailbox`, :mod:`.drops`: what each kind of source offers, and how it is marked done;
- :mod:`.take`: stage what is offered, register it in the ledger with the server's receipt
  time, record each item so that none is taken twice;
- :mod:`.replies`: the verdict mailed back to the sender, as a reply to their message.

After registration the pipeline does not know where a file came from; ``intake_items`` does.
"""
