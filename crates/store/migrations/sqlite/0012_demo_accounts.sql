-- Accounts made by `serve --demo`, with passwords printed on the console: they exist only
-- while the desk runs as a demo, and are disabled when it runs without --demo.
ALTER TABLE users ADD COLUMN demo BOOLEAN NOT NULL DEFAULT 0;
