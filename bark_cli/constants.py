"""Constants of the Bark models and of the reference algorithm (suno-ai/bark 0.1.5), with units.

Every magic number of Bark lives here, named once; the stage modules import them.
"""

# Languages Bark was trained on (two-letter codes, as in the preset names v2/xx_speaker_N).
LANGUAGES = ("de", "en", "es", "fr", "hi", "it", "ja", "ko", "pl", "pt", "ru", "tr", "zh")

# --- audio -------------------------------------------------------------------------------------------
SAMPLE_RATE = 24_000  # Hz, EnCodec 24 kHz
SAMPLES_PER_FRAME = 320  # samples per EnCodec frame (hop: 8 * 5 * 4 * 2)
CODEC_FRAME_RATE = 75  # frames per second (SAMPLE_RATE / SAMPLES_PER_FRAME)
CODEBOOK_SIZE = 1024  # codes per EnCodec codebook
N_COARSE_CODEBOOKS = 2  # codebooks predicted by the coarse model
N_FINE_CODEBOOKS = 8  # codebooks decoded at 6 kbps
AUDIO_FORMATS = ("wav", "flac", "ogg", "mp3")  # file formats bark writes (audio/formats.py maps them to libsndfile)

# --- semantic ("text") model ---------------------------------------------------------------------------
SEMANTIC_RATE_HZ = 49.9  # semantic tokens per second of audio
SEMANTIC_VOCAB_SIZE = 10_000  # semantic tokens 0..9,999
SEMANTIC_EOS_TOKEN = 10_000  # end of speech; also pads the voice's semantic history
SEMANTIC_PAD_TOKEN = SEMANTIC_EOS_TOKEN
TEXT_ENCODING_OFFSET = 10_048  # BERT token ids are shifted by this into the semantic input vocabulary
TEXT_PAD_TOKEN = 129_595  # pads the text block to MAX_TEXT_TOKENS
SEMANTIC_INFER_TOKEN = 129_599  # marks "generate from here"
MAX_TEXT_TOKENS = 256  # text tokens per generation (tokens, not characters)
MAX_SEMANTIC_HISTORY = 256  # voice semantic tokens used as history
MAX_SEMANTIC_STEPS = 768  # semantic tokens per generation at most (~15.4 s)

# --- coarse model -------------------------------------------------------------------------------------
# Coarse tokens (two codebooks interleaved) per semantic token: 75 / 49.9 * 2 ~= 3.006.
SEMANTIC_TO_COARSE_RATIO = CODEC_FRAME_RATE / SEMANTIC_RATE_HZ * N_COARSE_CODEBOOKS
COARSE_SEMANTIC_PAD_TOKEN = 12_048  # pads the semantic window
COARSE_INFER_TOKEN = 12_050
MAX_COARSE_INPUT_TOKENS = 256  # semantic tokens in each coarse window
MAX_COARSE_HISTORY = 630  # coarse tokens of history in each window
COARSE_WINDOW = 60  # coarse tokens generated per sliding window
# Codebook n's codes are offset by SEMANTIC_VOCAB_SIZE + n * CODEBOOK_SIZE in the coarse vocabulary.
COARSE_CODE_OFFSET = SEMANTIC_VOCAB_SIZE
# Each coarse codebook's (start, end) in that vocabulary: the coarse stage samples from one per step.
COARSE_CODEBOOK_VOCAB = tuple(
    (COARSE_CODE_OFFSET + n * CODEBOOK_SIZE, COARSE_CODE_OFFSET + (n + 1) * CODEBOOK_SIZE) for n in range(N_COARSE_CODEBOOKS)
)

# --- fine model ---------------------------------------------------------------------------------------
FINE_PAD_CODE = CODEBOOK_SIZE  # pads not-yet-predicted codebooks and short inputs
FINE_WINDOW = 1024  # frames per fine window (the model is non-causal over the whole window)
FINE_HISTORY = 512  # frames of history per window; windows step by this much

# --- voice prompts and cached codes: the most a file may hold (checked before its arrays are read) -------
MAX_VOICE_SECONDS = 60  # far more than Bark uses (its last 256 semantic tokens, 512 frames: about 5-10 s)
MAX_VOICE_SEMANTIC = int(MAX_VOICE_SECONDS * SEMANTIC_RATE_HZ)  # 2,994 semantic tokens
MAX_VOICE_FRAMES = MAX_VOICE_SECONDS * CODEC_FRAME_RATE  # 4,500 codec frames

# --- defaults of the reference algorithm --------------------------------------------------------------
DEFAULT_TEXT_TEMP = 0.7
DEFAULT_WAVEFORM_TEMP = 0.7
DEFAULT_FINE_TEMP = 0.5
DEFAULT_MIN_EOS_P = 0.2
DEFAULT_MODEL = "suno/bark-small"
