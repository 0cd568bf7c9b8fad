-- A link made while the member's address was unverified rests on an address nobody had proven
-- (typed on the permission screen or the sign-up form). email_unproven marks it: verifying the
-- address by the sign-up's verification mail clears the mark; proving it by a password reset
-- instead removes the link (ResetPassword), so a link made by someone who typed another person's
-- address never passes to the address's owner.
ALTER TABLE member_identities ADD COLUMN email_unproven BIGINT NOT NULL DEFAULT 0;
UPDATE member_identities SET email_unproven = 1
    WHERE member_id IN (SELECT id FROM members WHERE email_verified_at IS NULL);
