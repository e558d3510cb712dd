//! One-line explanations of C2PA validation status codes, for people.

/// Plain words for a C2PA status code. Unknown codes get a generic line naming the code's family.
pub fn explain(code: &str) -> &'static str {
    match code {
        "signingCredential.untrusted" => {
            "the signature is intact, but the signer's certificate does not chain to a root you trust"
        }
        "signingCredential.trusted" => "the signer's certificate chains to a trusted root",
        "signingCredential.invalid" => "the signer's certificate is malformed or not allowed to sign claims",
        "signingCredential.expired" => "the signer's certificate had expired when the claim was signed",
        "signingCredential.ocsp.revoked" => "the signer's certificate has been revoked",
        "signingCredential.ocsp.inaccessible" => "the certificate's revocation status could not be fetched",
        "signingCredential.ocsp.unknown" => "the certificate's revocation status is unknown",
        "signingCredential.ocsp.skipped" => "revocation was not checked",
        "signingCredential.ocsp.notRevoked" => "the certificate was not revoked",
        "claimSignature.mismatch" => "the claim signature does not verify: the manifest was altered or badly signed",
        "claimSignature.missing" => "the claim has no signature",
        "claimSignature.outsideValidity" => "the claim was signed outside its certificate's validity period",
        "claimSignature.validated" | "claimSignature.insideValidity" => "the claim signature verifies",
        "timeStamp.mismatch" => "the time-stamp does not match the signature",
        "timeStamp.untrusted" => "the time-stamp authority is not trusted",
        "timeStamp.outsideValidity" => "the time-stamp lies outside its certificate's validity",
        "timeStamp.malformed" => "the time-stamp is malformed",
        "timeStamp.trusted" | "timeStamp.validated" => "a time-stamp backs the signing time",
        "assertion.bmffHash.mismatch" => {
            "the video's bytes changed after signing (hard binding hash mismatch): the content was edited or corrupted"
        }
        "assertion.dataHash.mismatch" | "assertion.boxesHash.mismatch" | "assertion.collectionHash.mismatch" => {
            "the asset's bytes changed after signing (hard binding hash mismatch)"
        }
        "assertion.bmffHash.malformed" | "assertion.dataHash.malformed" | "assertion.boxesHash.malformed" => {
            "the hard binding assertion is malformed"
        }
        "assertion.hashedURI.mismatch" => "an assertion was altered after signing",
        "assertion.missing" | "assertion.inaccessible" => "an assertion the claim lists cannot be found",
        "assertion.multipleHardBindings" => "the manifest has more than one hard binding",
        "assertion.action.malformed" => "the actions assertion is malformed",
        "assertion.action.ingredientMismatch" => "an action refers to an ingredient that does not match",
        "assertion.cbor.invalid" | "assertion.json.invalid" => "an assertion cannot be decoded",
        "assertion.undeclared" => "an assertion is present but not declared in the claim",
        "claim.missing" => "the manifest has no claim",
        "claim.multiple" => "the manifest has more than one claim",
        "claim.hardBindings.missing" => "the claim binds to no content (no hard binding)",
        "claim.malformed" | "claim.cbor.invalid" => "the claim is malformed",
        "algorithm.unsupported" => "the signature or hash algorithm is not supported",
        "algorithm.deprecated" => "the signature or hash algorithm is deprecated",
        "ingredient.manifest.mismatch" | "ingredient.hashedURI.mismatch" => {
            "an ingredient's manifest does not match what the claim recorded"
        }
        "ingredient.claimSignature.mismatch" => "an ingredient's claim signature does not verify",
        "ingredient.manifest.missing" | "ingredient.claimSignature.missing" => {
            "an ingredient's manifest is missing"
        }
        "manifest.inaccessible" => "the manifest cannot be read",
        "manifest.multipleParents" => "the manifest names more than one parent",
        "manifest.compressed.invalid" => "the compressed manifest cannot be decompressed",
        "general.error" => "the validator hit an error it could not classify",
        c if c.starts_with("signingCredential.") => "a problem with the signer's certificate",
        c if c.starts_with("timeStamp.") => "a problem with the time-stamp",
        c if c.starts_with("assertion.") => "a problem with an assertion",
        c if c.starts_with("ingredient.") => "a problem with an ingredient",
        _ => "a validation problem (see the C2PA specification for this code)",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_codes_have_specific_words() {
        assert!(super::explain("assertion.bmffHash.mismatch").contains("changed after signing"));
        assert!(super::explain("signingCredential.untrusted").contains("does not chain"));
        assert!(super::explain("signingCredential.somethingNew").contains("certificate"));
    }
}
