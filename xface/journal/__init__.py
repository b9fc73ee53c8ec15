"""The private journal: one SQLite file (schema, store, checks, merge, recorder), its files (export, restore, the
printable summary), and what the journal page shows of it (charts, feelings, snapshots).

Import from the module that does the job (``xface.journal.store.Journal``, ``xface.journal.schema.JournalError``):
this package re-exports nothing, so a page that only needs the feelings words never loads sqlite-utils.
"""
