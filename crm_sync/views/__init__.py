"""The integration pages (UI.md, Integrations): the sync health page and its lists, and one
page per connection. Views are thin: selectors read, services write, the role matrix decides."""
