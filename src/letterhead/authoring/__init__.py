"""letterhead.authoring: the first line of the data flow, a designer's
templates → the SES payloads (``letterhead build``, ``letterhead render``).

In: the :class:`~letterhead.config.Config` and ``templates_src/`` (one folder per
email: ``email.mjml``, ``subject.txt``, optional ``text.txt``, ``template.toml``
and ``samples/*.json``, plus the brand file).  Out: ``CompiledTemplate``
(subject, HTML and text with SES placeholders, and their contract),
``SesTemplate`` / ``Manifest`` (``ses_templates/<name>.json`` and
``manifest.json``, what sync uploads) and the rendered samples in ``build/``;
errors name ``file:line`` (:mod:`letterhead.errors`).  The SES template
language itself (parse, contract, render) is :mod:`letterhead.sestemplate`.

Modules, in the order a build runs them:

* :mod:`~letterhead.authoring.sources`: reading ``templates_src/`` into ``TemplateSource``;
* :mod:`~letterhead.authoring.confine`: the build reads only files inside the project;
* :mod:`~letterhead.authoring.protect`: SES placeholders kept intact through Jinja, MRML,
  the inliners and the text converter;
* :mod:`~letterhead.authoring.compile`: one source → ``CompiledTemplate`` (Jinja, then MJML);
* :mod:`~letterhead.authoring.mjml` and :mod:`~letterhead.authoring.mjml_fixes`: MJML → HTML
  with MRML, and where MRML and the official compiler disagree;
* :mod:`~letterhead.authoring.inline`: CSS inlining (css-inline or premailer);
* :mod:`~letterhead.authoring.text`: the plain-text part from the HTML;
* :mod:`~letterhead.authoring.contexts`: which context each placeholder prints into;
* :mod:`~letterhead.authoring.safety`: injection safety and the data SES is sent
  (``prepare_data``, the TemplateData limit);
* :mod:`~letterhead.authoring.validate`: does this data fit this template (samples at
  build time, application data at send time);
* :mod:`~letterhead.authoring.lint`: what SES, mail clients and readers need;
* :mod:`~letterhead.authoring.payload`: ``SesTemplate`` and ``Manifest``;
* :mod:`~letterhead.authoring.build`: every template → ``build/`` and ``ses_templates/``;
* :mod:`~letterhead.authoring.swap`: the two output folders replaced together;
* :mod:`~letterhead.authoring.workers`: forked worker processes for a build of many.

Importing the package imports none of its modules (nor Jinja, MRML or the inliners).
"""
