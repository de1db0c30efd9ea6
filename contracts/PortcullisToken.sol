// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title A Portcullis token ledger (AuthNFT or ReqNFT) as an ERC-721 contract.
/// @notice Deployed twice by `portcullis ledger deploy`: once for the `auth` ledger, once for
/// `req`. The deployer is the issuer (Portcullis' chain key) and the only account that may
/// mint, move or burn a token: a wallet proves ownership to Portcullis off-chain (a signed
/// SIWE message) and Portcullis moves the token, so a token can never leave Portcullis'
/// lifecycle through a plain ERC-721 transfer.
/// @dev Token ids on the ledger are strings; the ERC-721 id is keccak256 of the string, and
/// the string is kept in the `Minted` event (with the token's attributes) so that an index
/// can be rebuilt from the events alone. ERC-721's `Transfer` covers every move: from the
/// zero address on mint, to the zero address on burn.
contract PortcullisToken is ERC721 {
    /// The deployer: the only account that may change a token.
    address public immutable issuer;

    /// Every id ever minted, burned or not: an id is never reused.
    mapping(uint256 => bool) private _minted;

    /// `tokenId` (keccak256 of `token`) was minted to `owner` with `attributes` (a JSON object).
    event Minted(uint256 indexed tokenId, address indexed owner, string token, string attributes);

    /// The caller is not the issuer.
    error NotIssuer(address caller);
    /// The id was minted before (it may be burned since): ids are never reused.
    error AlreadyMinted(uint256 tokenId);

    constructor(string memory name_, string memory symbol_) ERC721(name_, symbol_) {
        issuer = msg.sender;
    }

    /// The ERC-721 id of the ledger's token id `token`.
    function idOf(string calldata token) public pure returns (uint256) {
        return uint256(keccak256(bytes(token)));
    }

    /// Whether `tokenId` was ever minted (a burned token was).
    function wasMinted(uint256 tokenId) external view returns (bool) {
        return _minted[tokenId];
    }

    /// Creates the token `token` owned by `to`.
    function mint(address to, string calldata token, string calldata attributes)
        external
        returns (uint256 tokenId)
    {
        tokenId = idOf(token);
        if (_minted[tokenId]) revert AlreadyMinted(tokenId);
        _minted[tokenId] = true;
        _mint(to, tokenId);
        emit Minted(tokenId, to, token, attributes);
    }

    /// Hands `tokenId` from its owner `from` to `to`; reverts unless `from` owns it now.
    function moveToken(address from, address to, uint256 tokenId) external {
        _transfer(from, to, tokenId);
    }

    /// Ends `tokenId` for good; reverts unless it is live.
    function burn(uint256 tokenId) external {
        _burn(tokenId);
    }

    /// Every change of owner (mint, move, burn, and ERC-721's own transfers) passes here:
    /// only the issuer may make one.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address) {
        if (msg.sender != issuer) revert NotIssuer(msg.sender);
        return super._update(to, tokenId, auth);
    }
}
