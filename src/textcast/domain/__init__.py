"""The rules, as plain functions of (session, ...), in one package per bounded context.

Lower contexts know nothing of higher ones (`make lint` checks it):

    reporting                 analytics and the overview read every other context
    imports | inbox           CSV imports; what comes back from the provider
    outbox                    claims, screening and the batch ledger of the sending engine
    campaigns                 drafts, launch, plan, pricing, send windows, previews
    audience | content        contacts and consent; templates, encoding and links
    phones | accounts         numbers and zones; users, keys, permissions and audit;
      | settings              and the settings an admin changes without a restart

`errors` (what a rule refuses) and `spreadsheets` (every CSV written) serve all of them.
"""
