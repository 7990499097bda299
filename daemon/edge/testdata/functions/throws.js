function handler(event) {
    throw new Error('no such tenant');
}
