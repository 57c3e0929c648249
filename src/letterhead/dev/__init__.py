"""The designer's preview: what a template looks like and what SES would do.

In: the project's sources (compiled through :mod:`letterhead.authoring`, the
same path as a build), sample data, and sends from the application.
Out: preview pages (served live or exported as a static site) and a local SES
whose outbox shows each send as SES would render or drop it.

Modules:

* ``preview_state``: the project as the preview holds it: one state per template
  and locale, compiled in memory, recompiled by what a saved file touches;
* ``preview``: the pages (index, template, outbox) that show those states;
* ``devserver``: ``letterhead dev``: the live site, reload on save, the render API;
* ``localses``: the embedded SES (moto behind the loopback guard) and its renderer;
* ``localses_v2``: SES v2 templated sends (SendEmail, SendBulkEmail with headers), which moto lacks.
"""
