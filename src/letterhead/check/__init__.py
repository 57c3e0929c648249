"""``letterhead check``: is every rendered sample inbox-ready?

``letterhead build`` proves that SES will render a template; this package
checks what the reader gets, one module per question, each a function from
the rendered samples (:class:`~letterhead.check.model.SampleDoc`) to findings
(:class:`~letterhead.check.model.CheckFinding`):

* :mod:`.clients`  CSS and HTML the designer wrote, against caniemail's data
  set for the clients the project lists (vendored in ``data/``).
* :mod:`.a11y`     static accessibility checks (lang, alt text, layout tables,
  link text); axe-core runs in the browser.
* :mod:`.browser`  one headless Chromium for all samples: axe-core, text
  contrast in light mode, with ``prefers-color-scheme: dark`` and with a
  client's forced inversion, images against their dark backgrounds.
* :mod:`.darkmode` the colour arithmetic: WCAG contrast, the inversion that
  Gmail and Outlook.com apply, the judgement on what became unreadable.
* :mod:`.spam`     SpamAssassin's score of the MIME message the SMTP
  transport would send (spamd on a private socket, offline rules).
* :mod:`.links`    links and images that are not https.
* :mod:`.run`      the orchestration: build, render every sample of every
  variant, run the checks, apply the configured severities.
* :mod:`.report`   the table and the JSON.
"""
